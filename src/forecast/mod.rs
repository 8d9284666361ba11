//! Forecasting: pure functions, numbers in and numbers out (no I/O, no clocks).
