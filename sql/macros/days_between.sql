-- Days from `a` to `b`, exact to the microsecond (date_diff would count whole seconds).
CREATE OR REPLACE MACRO days_between(a, b) AS (epoch_us(b) - epoch_us(a)) / 86400000000.0;
