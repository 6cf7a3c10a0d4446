//! Just enough YAML for a dataset card's front matter, in the block style the Hub's own
//! generator writes (lists not indented under their key). No YAML library is needed for
//! that, and a hand-written emitter keeps every byte under our control, so that the same
//! manifest gives the same card.
//!
//! Strings go out plain only when every YAML 1.1 reader (PyYAML `safe_load`, which
//! `datasets` and `huggingface_hub` use) reads them back as the same string; anything else is
//! double-quoted with JSON escapes, which YAML's double-quoted style accepts unchanged.

/// A YAML node.
#[derive(Debug, Clone, PartialEq)]
pub enum Yaml {
    Str(String),
    Int(u64),
    Map(Vec<(String, Yaml)>),
    List(Vec<Yaml>),
}

impl Yaml {
    pub fn str(s: impl Into<String>) -> Yaml {
        Yaml::Str(s.into())
    }

    pub fn map<K: Into<String>>(entries: impl IntoIterator<Item = (K, Yaml)>) -> Yaml {
        Yaml::Map(entries.into_iter().map(|(k, v)| (k.into(), v)).collect())
    }

    pub fn strs<S: Into<String>>(items: impl IntoIterator<Item = S>) -> Yaml {
        Yaml::List(items.into_iter().map(Yaml::str).collect())
    }
}

/// Words YAML 1.1 resolves to booleans or null.
const RESERVED: &[&str] = &[
    "y", "yes", "n", "no", "true", "false", "on", "off", "null", "~",
];

/// A scalar as it must appear in the document.
pub fn scalar(s: &str) -> String {
    // A letter first rules out numbers, dates, `.inf` and every indicator character.
    let plain = s.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '/' | '@' | '*'))
        && !RESERVED.iter().any(|r| r.eq_ignore_ascii_case(s));
    if plain {
        s.to_string()
    } else {
        serde_json::to_string(s).expect("strings serialise")
    }
}

/// Renders a top-level mapping as block YAML, one entry per line, ending with a newline.
pub fn render(node: &Yaml) -> String {
    let mut out = String::new();
    match node {
        Yaml::Map(entries) => render_map(entries, 0, &mut out),
        other => {
            render_value_inline(other, &mut out);
            out.push('\n');
        }
    }
    out
}

fn pad(out: &mut String, indent: usize) {
    out.extend(std::iter::repeat_n(' ', indent));
}

fn render_value_inline(node: &Yaml, out: &mut String) {
    match node {
        Yaml::Str(s) => out.push_str(&scalar(s)),
        Yaml::Int(n) => out.push_str(&n.to_string()),
        Yaml::Map(m) if m.is_empty() => out.push_str("{}"),
        Yaml::List(l) if l.is_empty() => out.push_str("[]"),
        _ => unreachable!("collections are rendered as blocks"),
    }
}

fn is_block(node: &Yaml) -> bool {
    match node {
        Yaml::Map(m) => !m.is_empty(),
        Yaml::List(l) => !l.is_empty(),
        _ => false,
    }
}

fn render_entry(key: &str, value: &Yaml, indent: usize, first_pad: bool, out: &mut String) {
    if first_pad {
        pad(out, indent);
    }
    out.push_str(&scalar(key));
    out.push(':');
    match value {
        Yaml::Map(m) if !m.is_empty() => {
            out.push('\n');
            render_map(m, indent + 2, out);
        }
        Yaml::List(l) if !l.is_empty() => {
            out.push('\n');
            render_list(l, indent, out);
        }
        other => {
            out.push(' ');
            render_value_inline(other, out);
            out.push('\n');
        }
    }
}

fn render_map(entries: &[(String, Yaml)], indent: usize, out: &mut String) {
    for (key, value) in entries {
        render_entry(key, value, indent, true, out);
    }
}

fn render_list(items: &[Yaml], indent: usize, out: &mut String) {
    for item in items {
        pad(out, indent);
        out.push_str("- ");
        match item {
            Yaml::Map(m) if !m.is_empty() => {
                let (first_key, first_value) = &m[0];
                render_entry(first_key, first_value, indent + 2, false, out);
                render_map(&m[1..], indent + 2, out);
            }
            Yaml::List(l) if !l.is_empty() => {
                out.push('\n');
                render_list(l, indent + 2, out);
            }
            other => {
                debug_assert!(!is_block(other));
                render_value_inline(other, out);
                out.push('\n');
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalars_are_quoted_when_yaml_would_change_them() {
        assert_eq!(scalar("cc-by-4.0"), "cc-by-4.0");
        assert_eq!(scalar("CLIP_ViTL_14@336"), "CLIP_ViTL_14@336");
        assert_eq!(scalar("data/train-*"), "data/train-*");
        assert_eq!(scalar("n<1K"), "\"n<1K\"");
        assert_eq!(scalar("yes"), "\"yes\"");
        assert_eq!(scalar("No"), "\"No\"");
        assert_eq!(scalar("1e5"), "\"1e5\"");
        assert_eq!(scalar("My title: \"x\""), "\"My title: \\\"x\\\"\"");
        assert_eq!(scalar(""), "\"\"");
    }

    #[test]
    fn blocks_follow_the_hub_layout() {
        let doc = Yaml::map([
            ("license", Yaml::str("cc-by-4.0")),
            ("tags", Yaml::strs(["a", "b"])),
            (
                "configs",
                Yaml::List(vec![Yaml::map([
                    ("config_name", Yaml::str("default")),
                    (
                        "data_files",
                        Yaml::List(vec![Yaml::map([
                            ("split", Yaml::str("train")),
                            ("path", Yaml::str("data/train-*")),
                        ])]),
                    ),
                ])]),
            ),
            (
                "info",
                Yaml::map([("size", Yaml::Int(3)), ("empty", Yaml::List(vec![]))]),
            ),
        ]);
        assert_eq!(
            render(&doc),
            "license: cc-by-4.0\ntags:\n- a\n- b\nconfigs:\n- config_name: default\n  data_files:\n  - split: train\n    path: data/train-*\ninfo:\n  size: 3\n  empty: []\n"
        );
    }
}
