//! The WeChat server-push protocol shared by the Official Account and the WeChat Shop.

pub mod api;
pub mod callback;
pub mod crypto;
pub mod custom_send;
