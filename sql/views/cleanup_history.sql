-- Every delete a `cleanup apply` attempted (cleanup_deletions: plan, rule, tag, result, when, who), whether it counts as done, and, for a done one, the first sync after the plan's run that saw that tag version (same digest and push time) removed: which tags were deleted, when, under which rule, what it freed, and when the warehouse saw them go.
CREATE OR REPLACE VIEW cleanup_history AS
SELECT d.*, cleanup_done(d.result) AS done,
       c.to_run AS removed_in_run, c.to_at AS removed_at
FROM cleanup_deletions AS d
LEFT JOIN runs AS p ON p.run_id = d.plan_run_id
LEFT JOIN tag_changes AS c
  ON cleanup_done(d.result) AND c.change = 'removed' AND c.endpoint = d.endpoint
 AND c.namespace = d.namespace AND c.repository = d.repository AND c.tag = d.tag
 AND c.old_digest = d.digest AND c.old_updated = d.updated
 AND c.to_at > coalesce(p.started_at, d.plan_computed_at)
QUALIFY row_number() OVER (
    PARTITION BY d.apply_id, d.endpoint, d.namespace, d.repository, d.tag
    ORDER BY c.to_seq NULLS LAST) = 1;
