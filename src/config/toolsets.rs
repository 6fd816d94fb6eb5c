//! Toolsets: the groups of tools an operator turns on (`MCP_TOOLSETS`), matching what the tenant
//! consented. Each tool belongs to exactly one; the `server` toolset (`server_info`,
//! `server_status`) touches no Microsoft 365 data and is always on.

use std::{collections::BTreeSet, fmt};

use super::{Reader, settings::MCP_TOOLSETS};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Toolset {
    Server,
    Profile,
    Calendar,
    Mail,
    People,
    Files,
    Tasks,
    Search,
    /// The tools that send mail or create events: off unless listed, and then only for callers
    /// holding the `MCP.Writer` app role.
    Write,
}

impl Toolset {
    /// The toolsets `MCP_TOOLSETS` may name, in the order `--help` lists them.
    pub const SELECTABLE: [Toolset; 8] = [
        Toolset::Profile,
        Toolset::Calendar,
        Toolset::Mail,
        Toolset::People,
        Toolset::Files,
        Toolset::Tasks,
        Toolset::Search,
        Toolset::Write,
    ];

    /// `MCP_TOOLSETS` when unset: every read toolset.
    pub const DEFAULT: &'static str = "profile,calendar,mail,people,files,tasks,search";

    pub fn name(self) -> &'static str {
        match self {
            Toolset::Server => "server",
            Toolset::Profile => "profile",
            Toolset::Calendar => "calendar",
            Toolset::Mail => "mail",
            Toolset::People => "people",
            Toolset::Files => "files",
            Toolset::Tasks => "tasks",
            Toolset::Search => "search",
            Toolset::Write => "write",
        }
    }

    fn parse(name: &str) -> Option<Toolset> {
        Self::SELECTABLE
            .into_iter()
            .find(|toolset| toolset.name().eq_ignore_ascii_case(name))
    }
}

impl fmt::Display for Toolset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The toolsets this process serves: the listed ones and `server`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnabledToolsets(BTreeSet<Toolset>);

impl EnabledToolsets {
    pub fn contains(&self, toolset: Toolset) -> bool {
        self.0.contains(&toolset)
    }

    /// Every toolset this build has: for listings of what the build could serve.
    pub fn all() -> Self {
        Self(
            Toolset::SELECTABLE
                .into_iter()
                .chain([Toolset::Server])
                .collect(),
        )
    }

    pub fn iter(&self) -> impl Iterator<Item = Toolset> + '_ {
        self.0.iter().copied()
    }

    /// From a comma-separated list of names.
    pub fn parse(list: &str) -> Result<Self, String> {
        let mut enabled = BTreeSet::from([Toolset::Server]);
        for name in list
            .split(',')
            .map(str::trim)
            .filter(|name| !name.is_empty())
        {
            match Toolset::parse(name) {
                Some(toolset) => {
                    enabled.insert(toolset);
                }
                None => return Err(format!("`{name}` is not a toolset")),
            }
        }
        Ok(Self(enabled))
    }
}

pub(super) fn read(reader: &mut Reader) -> EnabledToolsets {
    let names: Vec<&str> = Toolset::SELECTABLE.iter().map(|t| t.name()).collect();
    let fix = format!(
        "list toolsets from {}, comma-separated (default {})",
        names.join(", "),
        Toolset::DEFAULT
    );
    reader
        .parse(&MCP_TOOLSETS, &fix, EnabledToolsets::parse)
        .unwrap_or_else(|| EnabledToolsets::parse(Toolset::DEFAULT).expect("the default parses"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_is_every_read_toolset_and_server() {
        let enabled = EnabledToolsets::parse(Toolset::DEFAULT).unwrap();
        for toolset in Toolset::SELECTABLE {
            assert_eq!(
                enabled.contains(toolset),
                toolset != Toolset::Write,
                "{toolset}"
            );
        }
        assert!(enabled.contains(Toolset::Server));
    }

    #[test]
    fn names_are_case_insensitive_and_unknown_ones_are_refused() {
        let enabled = EnabledToolsets::parse(" Mail, write ,").unwrap();
        assert_eq!(
            enabled.iter().collect::<Vec<_>>(),
            vec![Toolset::Server, Toolset::Mail, Toolset::Write]
        );
        assert_eq!(
            EnabledToolsets::parse("mail,teams").unwrap_err(),
            "`teams` is not a toolset"
        );
        assert!(
            EnabledToolsets::parse("server").is_err(),
            "always on, not selectable"
        );
    }
}
