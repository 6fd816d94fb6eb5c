//! The Microsoft 365 tool set through the real binary, against the devstack's Graph sample
//! tenant: each tool's answers, paging, bad arguments, missing consent and throttling; hostile
//! arguments and hostile content; time zones; the write tools' confirmations; which tools a
//! caller sees; and the permissions the app registration asks for.

mod permissions;
