"""What people see: reports, diffs, table formats, progress and the end-of-run summary."""
