//! The app registration asks for exactly the Graph permissions the enabled tools use: the
//! toolsets' permission lists in infra/app/graph-permissions.json (which `azd up` turns into
//! the app's requested permissions) equal the union of what each toolset's tools declare.

use std::collections::{BTreeMap, BTreeSet};

use m365_mcp::{config::Toolset, tools::catalog};
use serde_json::Value;

use crate::harness::repo_root;

#[test]
fn each_toolsets_permissions_in_infra_are_exactly_what_its_tools_declare() {
    let file = repo_root().join("infra/app/graph-permissions.json");
    let json: Value = serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
    let in_infra: BTreeMap<String, BTreeSet<String>> = json["toolsets"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(toolset, permissions)| {
            let values = permissions
                .as_array()
                .unwrap()
                .iter()
                .map(|permission| permission["value"].as_str().unwrap().to_owned())
                .collect();
            (toolset.clone(), values)
        })
        .collect();

    let mut declared: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for spec in catalog() {
        if spec.toolset == Toolset::Server {
            assert_eq!(spec.graph.all().count(), 0, "{} uses no Graph", spec.name);
            continue;
        }
        declared
            .entry(spec.toolset.name().to_owned())
            .or_default()
            .extend(spec.graph.all().map(str::to_owned));
    }
    assert_eq!(in_infra, declared);
    let selectable: BTreeSet<String> = Toolset::SELECTABLE
        .iter()
        .map(|toolset| toolset.name().to_owned())
        .collect();
    assert_eq!(
        in_infra.keys().cloned().collect::<BTreeSet<_>>(),
        selectable
    );
}
