//! Cross-crate test suites live in `tests/tests/`; this library holds what several of them
//! read: `template.yaml`, parsed, with small helpers for CloudFormation's short-form tags.

use serde_norway::Value;

/// The workspace root.
pub fn root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ sits in the workspace")
        .to_path_buf()
}

/// `template.yaml`, parsed (short-form tags such as `!Ref` stay as tagged values).
pub fn template() -> Value {
    let text = std::fs::read_to_string(root().join("template.yaml")).expect("template.yaml");
    serde_norway::from_str(&text).expect("template.yaml is YAML")
}

/// The value at `path` (mapping keys), or panics naming the path.
pub fn at<'v>(v: &'v Value, path: &[&str]) -> &'v Value {
    let mut cur = v;
    for (i, key) in path.iter().enumerate() {
        cur = cur
            .get(*key)
            .unwrap_or_else(|| panic!("template.yaml has no {}", path[..=i].join(".")));
    }
    cur
}

/// The value at `path`, if present.
pub fn maybe<'v>(v: &'v Value, path: &[&str]) -> Option<&'v Value> {
    path.iter().try_fold(v, |cur, key| cur.get(*key))
}

/// A plain string, or panics.
pub fn text(v: &Value) -> &str {
    v.as_str()
        .unwrap_or_else(|| panic!("expected a string, found {v:?}"))
}

/// `!Tag value` (or the long form `{Fn::Tag: value}` / `{Ref: value}`) as (tag, value).
pub fn intrinsic(v: &Value) -> Option<(String, &Value)> {
    match v {
        Value::Tagged(t) => Some((
            t.tag.to_string().trim_start_matches('!').to_owned(),
            &t.value,
        )),
        Value::Mapping(m) if m.len() == 1 => {
            let (k, inner) = m.iter().next()?;
            let k = k.as_str()?;
            let name = k.strip_prefix("Fn::").unwrap_or(k);
            (k == "Ref" || k.starts_with("Fn::")).then(|| (name.to_owned(), inner))
        }
        _ => None,
    }
}

/// The resource name a `!Ref Name` points to.
pub fn ref_target(v: &Value) -> Option<&str> {
    match intrinsic(v) {
        Some((tag, inner)) if tag == "Ref" => inner.as_str(),
        _ => None,
    }
}

/// Every resource of `kind` (for example `AWS::Serverless::Function`), by logical id.
pub fn resources_of<'v>(template: &'v Value, kind: &str) -> Vec<(&'v str, &'v Value)> {
    at(template, &["Resources"])
        .as_mapping()
        .expect("Resources is a mapping")
        .iter()
        .filter(|(_, r)| r.get("Type").and_then(Value::as_str) == Some(kind))
        .map(|(k, r)| (k.as_str().expect("logical ids are strings"), r))
        .collect()
}

/// Which Lambda function (as `replyline_api::function_route_table` names them) each
/// template function resource is.
pub const FUNCTIONS: [(&str, &str); 5] = [
    ("WebhookFunction", "webhook"),
    ("InboxFunction", "inbox"),
    ("SendFunction", "send"),
    ("ConversationFunction", "conversation"),
    ("EmailInboundFunction", "email-inbound"),
];
