-- The dashboard's pull activity: the most pulled repositories over everything observed, and their pulls per day.
SELECT endpoint || ':' || namespace || '/' || repository AS repository, sum(pulls) AS pulls,
       sum(pulls) / nullif(sum(days_between(from_at, to_at)), 0) AS pulls_per_day
FROM repo_pulls
GROUP BY ALL
ORDER BY pulls DESC, repository
LIMIT 10;
