//! Forecasting: pure functions, numbers in and numbers out (no I/O, no clocks).
//! (Integrator's placeholder until the forecast branch lands.)
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ModelKind { Auto, SNaive, Theta, Naive2 }
impl std::str::FromStr for ModelKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s { "auto" => Ok(Self::Auto), "snaive" => Ok(Self::SNaive), "theta" => Ok(Self::Theta), "naive2" => Ok(Self::Naive2), o => Err(format!("unknown model {o}")) }
    }
}
