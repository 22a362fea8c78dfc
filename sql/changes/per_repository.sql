-- Per repository, how many tags were added, removed, retagged, repushed, modified or untracked between runs $f and $t (diff_summary); the diff's counts.
SELECT * FROM diff_summary($f, $t);
