//! The `profile` toolset: who the signed-in user is.

mod get_my_profile;

pub use get_my_profile::GetMyProfile;
