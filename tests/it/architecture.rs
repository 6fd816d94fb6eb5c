//! The shape of the code: the product's top-level modules depend on each other without cycles,
//! so each can be read, changed and tested from the modules it names and nothing else.

use std::{
    collections::{BTreeMap, BTreeSet},
    fs,
    path::Path,
};

use crate::harness::repo_root;

/// Top-level module → the top-level modules its code names through `crate::`.
type Graph = BTreeMap<String, BTreeSet<String>>;

/// The modules `crate::…` paths in `code` name (comments ignored).
fn named_modules(code: &str) -> BTreeSet<String> {
    let code: String = code
        .lines()
        .filter(|line| !line.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n");
    let mut named = BTreeSet::new();
    let mut rest = code.as_str();
    {
        while let Some(at) = rest.find("crate::") {
            rest = &rest[at + "crate::".len()..];
            if rest.starts_with('{') {
                // `crate::{a::b, c, d::{e, f}}`: the names at the first level of braces.
                let mut depth = 0;
                let mut current = String::new();
                for c in rest.chars() {
                    match c {
                        '{' => depth += 1,
                        '}' => {
                            depth -= 1;
                            if depth == 0 {
                                break;
                            }
                        }
                        ',' if depth == 1 => current.clear(),
                        c if depth == 1 && (c.is_alphanumeric() || c == '_') => current.push(c),
                        c if depth == 1 && c.is_whitespace() => {}
                        ':' if depth == 1 && !current.is_empty() => {
                            named.insert(std::mem::take(&mut current));
                        }
                        _ => {}
                    }
                }
                if !current.is_empty() {
                    named.insert(current);
                }
            } else {
                let name: String = rest
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                named.insert(name);
            }
        }
    }
    named
}

fn collect(dir: &Path, module: &str, graph: &mut Graph) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            collect(&path, module, graph);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            let named = named_modules(&fs::read_to_string(&path).unwrap());
            graph.entry(module.to_owned()).or_default().extend(named);
        }
    }
}

/// The module graph of the library in `src/` (the binary's `main.rs` is not a module).
fn module_graph(src: &Path) -> Graph {
    let mut graph = Graph::new();
    for entry in fs::read_dir(src).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_str().unwrap().to_owned();
        if name == "lib" || name == "main" {
            continue;
        }
        if path.is_dir() {
            collect(&path, &name, &mut graph);
        } else {
            let named = named_modules(&fs::read_to_string(&path).unwrap());
            graph.entry(name).or_default().extend(named);
        }
    }
    for (module, named) in graph.iter_mut() {
        named.remove(module);
    }
    graph
}

/// A cycle through `start`, if there is one, as the path that closes it.
fn cycle_from(graph: &Graph, start: &str) -> Option<Vec<String>> {
    fn walk(
        graph: &Graph,
        start: &str,
        path: &mut Vec<String>,
        seen: &mut BTreeSet<String>,
    ) -> bool {
        let current = path.last().unwrap().clone();
        for next in graph.get(&current).into_iter().flatten() {
            if next == start {
                path.push(next.clone());
                return true;
            }
            if graph.contains_key(next) && seen.insert(next.clone()) {
                path.push(next.clone());
                if walk(graph, start, path, seen) {
                    return true;
                }
                path.pop();
            }
        }
        false
    }
    let mut path = vec![start.to_owned()];
    walk(graph, start, &mut path, &mut BTreeSet::new()).then_some(path)
}

#[test]
fn the_modules_depend_on_each_other_without_cycles() {
    let graph = module_graph(&repo_root().join("src"));
    assert!(graph.len() >= 10, "every module was read: {graph:?}");
    assert!(
        graph["tools"].contains("graph") && graph["app"].contains("tools"),
        "the reader sees dependencies: {graph:?}"
    );
    let cycles: Vec<String> = graph
        .keys()
        .filter_map(|module| cycle_from(&graph, module))
        .map(|cycle| cycle.join(" → "))
        .collect();
    assert!(cycles.is_empty(), "module cycles:\n{}", cycles.join("\n"));
}

#[test]
fn the_cycle_check_finds_a_cycle() {
    let graph: Graph = [
        ("a", vec!["b"]),
        ("b", vec!["c"]),
        ("c", vec!["a", "d"]),
        ("d", vec![]),
    ]
    .into_iter()
    .map(|(module, named)| {
        (
            module.to_owned(),
            named.into_iter().map(str::to_owned).collect(),
        )
    })
    .collect();
    assert_eq!(cycle_from(&graph, "a").unwrap(), vec!["a", "b", "c", "a"]);
    assert_eq!(cycle_from(&graph, "d"), None);
    assert_eq!(
        named_modules(
            "use crate::{\n    caller::{Access, Caller},\n    outbound::Call,\n};\n// crate::ignored\nlet x = crate::graph::GraphRequest::get();"
        ),
        ["caller", "graph", "outbound"]
            .into_iter()
            .map(str::to_owned)
            .collect()
    );
}
