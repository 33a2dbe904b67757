//! One module per platform kefu-edge talks to.

pub mod oa;
