//! The `people` toolset: colleagues, by relevance to the user and from the directory.

mod find_people;
mod get_user;

pub use find_people::FindPeople;
pub use get_user::GetUser;
