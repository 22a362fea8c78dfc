-- Pull activity per repository, labelled: the pulls counted between syncs that saw it (repo_pulls) over how many days; a rate per day only over at least a day, since two syncs minutes apart say nothing of a day. The top 10 by pulls and one `other` row for the rest (members: how many it stands for); the dashboard's pull activity.
WITH observed AS (
    SELECT endpoint, namespace, repository, sum(pulls) AS pulls,
           sum(days_between(from_at, to_at)) AS days
    FROM repo_pulls
    GROUP BY ALL
),
ranked AS (
    SELECT *, row_number() OVER (ORDER BY pulls DESC, endpoint, namespace, repository) AS rank
    FROM observed
)
SELECT * EXCLUDE (rank) FROM (
    SELECT rank, target_label(endpoint, namespace, repository) AS repository, 1 AS members,
           pulls, days AS over_days, CASE WHEN days >= 1 THEN pulls / days END AS pulls_per_day
    FROM ranked WHERE rank <= 10
    UNION ALL
    SELECT NULL, 'other', count(*), sum(pulls), NULL, NULL FROM ranked WHERE rank > 10
    HAVING count(*) > 0
)
ORDER BY rank NULLS LAST;
