-- How many tags changed between runs $f and $t (tag_diff), per kind of change; the demo's "Changes between the two syncs".
SELECT change, count(*) AS tags FROM tag_diff($f, $t) GROUP BY ALL ORDER BY ALL;
