//! One module per platform kefu-edge talks to.

pub mod caresoft;
pub mod oa;
pub mod orders;
pub mod payfeedback;
pub mod shop;
pub mod wecom;
pub mod wecom_kf;
