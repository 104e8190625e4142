//! `template.yaml` must deploy exactly what the code expects: the table the DynamoDB
//! adapter creates, each route on the function whose router serves it (webhooks without
//! the JWT authorizer, everything else with it), arm64 cargo-lambda builds of the
//! workspace's binaries, the environment the functions read, and a log group and alarms
//! for every function.

use std::collections::BTreeSet;

use replyline_store::dynamo::TABLE;
use replyline_tests::{at, intrinsic, maybe, ref_target, resources_of, template, text, FUNCTIONS};
use serde_norway::Value;

fn list(v: &Value) -> &Vec<Value> {
    v.as_sequence()
        .unwrap_or_else(|| panic!("expected a list, found {v:?}"))
}

/// (attribute, key type) pairs of a KeySchema.
fn key_schema(v: &Value) -> Vec<(String, String)> {
    list(v)
        .iter()
        .map(|k| {
            (
                text(at(k, &["AttributeName"])).to_owned(),
                text(at(k, &["KeyType"])).to_owned(),
            )
        })
        .collect()
}

fn hash_range(partition: &str, sort: &str) -> Vec<(String, String)> {
    vec![
        (partition.to_owned(), "HASH".to_owned()),
        (sort.to_owned(), "RANGE".to_owned()),
    ]
}

#[test]
fn the_table_is_the_one_the_store_adapter_creates() {
    let t = template();
    let table = at(&t, &["Resources", "Table"]);
    assert_eq!(text(at(table, &["Type"])), "AWS::DynamoDB::Table");
    let p = at(table, &["Properties"]);

    let declared: BTreeSet<(String, String)> = list(at(p, &["AttributeDefinitions"]))
        .iter()
        .map(|a| {
            (
                text(at(a, &["AttributeName"])).to_owned(),
                text(at(a, &["AttributeType"])).to_owned(),
            )
        })
        .collect();
    let expected: BTreeSet<(String, String)> = TABLE
        .attributes
        .iter()
        .map(|(a, k)| ((*a).to_owned(), (*k).to_owned()))
        .collect();
    assert_eq!(declared, expected, "AttributeDefinitions");

    assert_eq!(
        key_schema(at(p, &["KeySchema"])),
        hash_range(TABLE.partition_key, TABLE.sort_key),
        "table key"
    );

    let indexes = list(at(p, &["GlobalSecondaryIndexes"]));
    assert_eq!(indexes.len(), TABLE.indexes.len(), "number of GSIs");
    for def in TABLE.indexes {
        let gsi = indexes
            .iter()
            .find(|g| text(at(g, &["IndexName"])) == def.name)
            .unwrap_or_else(|| panic!("GSI {} is missing from template.yaml", def.name));
        assert_eq!(
            key_schema(at(gsi, &["KeySchema"])),
            hash_range(def.partition_key, def.sort_key),
            "GSI {} key",
            def.name
        );
        assert_eq!(
            text(at(gsi, &["Projection", "ProjectionType"])),
            def.projection,
            "GSI {} projection",
            def.name
        );
    }

    assert_eq!(text(at(p, &["BillingMode"])), TABLE.billing_mode);
    assert_eq!(
        text(at(p, &["TimeToLiveSpecification", "AttributeName"])),
        TABLE.ttl_attribute
    );
    assert_eq!(
        at(p, &["TimeToLiveSpecification", "Enabled"]).as_bool(),
        Some(true)
    );
    assert_eq!(
        at(
            p,
            &[
                "PointInTimeRecoverySpecification",
                "PointInTimeRecoveryEnabled"
            ]
        )
        .as_bool(),
        Some(true),
        "point-in-time recovery"
    );
    let (tag, _) = intrinsic(at(p, &["DeletionProtectionEnabled"]))
        .expect("deletion protection follows a parameter");
    assert_eq!(tag, "If");
    assert_eq!(text(at(table, &["DeletionPolicy"])), "Retain");
    assert_eq!(text(at(table, &["UpdateReplacePolicy"])), "Retain");
}

/// (method, path, authorizer override) of a function's HttpApi events.
fn http_events(function: &Value) -> BTreeSet<(String, String, Option<String>)> {
    let Some(events) = maybe(function, &["Properties", "Events"]).and_then(Value::as_mapping)
    else {
        return BTreeSet::new();
    };
    events
        .values()
        .filter(|e| e.get("Type").and_then(Value::as_str) == Some("HttpApi"))
        .map(|e| {
            let p = at(e, &["Properties"]);
            assert_eq!(
                ref_target(at(p, &["ApiId"])),
                Some("HttpApi"),
                "every route is on the one HTTP API"
            );
            (
                text(at(p, &["Method"])).to_owned(),
                text(at(p, &["Path"])).to_owned(),
                maybe(p, &["Auth", "Authorizer"]).map(|a| text(a).to_owned()),
            )
        })
        .collect()
}

#[test]
fn every_route_is_on_the_function_whose_router_serves_it() {
    let t = template();
    let routes = replyline_api::function_route_table();
    for (resource, function) in FUNCTIONS {
        let declared = http_events(at(&t, &["Resources", resource]));
        let expected: BTreeSet<(String, String, Option<String>)> = routes
            .iter()
            .filter(|(f, _, _)| *f == function)
            .map(|(_, method, path)| {
                // Providers cannot send our JWTs: they sign their calls, and the webhook
                // function verifies each signature itself.
                let auth = (function == "webhook").then(|| "NONE".to_owned());
                (method.clone(), (*path).to_owned(), auth)
            })
            .collect();
        assert_eq!(declared, expected, "{resource}'s HttpApi events");
    }
    let api = at(&t, &["Resources", "HttpApi", "Properties", "Auth"]);
    assert_eq!(text(at(api, &["DefaultAuthorizer"])), "AgentJwt");
    let jwt = at(api, &["Authorizers", "AgentJwt", "JwtConfiguration"]);
    assert_eq!(ref_target(at(jwt, &["issuer"])), Some("JwtIssuer"));
    assert_eq!(ref_target(at(jwt, &["audience"])), Some("JwtAudience"));
}

#[test]
fn functions_are_arm64_cargo_lambda_builds_of_the_workspace_binaries() {
    let t = template();
    let globals = at(&t, &["Globals", "Function"]);
    assert_eq!(text(at(globals, &["Runtime"])), "provided.al2023");
    assert_eq!(text(at(globals, &["Handler"])), "bootstrap");
    assert_eq!(
        list(at(globals, &["Architectures"])),
        &vec![Value::from("arm64")]
    );
    let functions = resources_of(&t, "AWS::Serverless::Function");
    assert_eq!(
        functions.iter().map(|(id, _)| *id).collect::<BTreeSet<_>>(),
        FUNCTIONS.iter().map(|(id, _)| *id).collect::<BTreeSet<_>>(),
        "one template function per Lambda binary"
    );
    for (resource, function) in FUNCTIONS {
        let f = at(&t, &["Resources", resource]);
        assert_eq!(
            text(at(f, &["Metadata", "BuildMethod"])),
            "rust-cargolambda"
        );
        let code_uri = text(at(f, &["Properties", "CodeUri"]));
        assert_eq!(code_uri, format!("functions/{function}"));
        let manifest =
            std::fs::read_to_string(replyline_tests::root().join(code_uri).join("Cargo.toml"))
                .unwrap_or_else(|e| panic!("{resource}: {code_uri}/Cargo.toml: {e}"));
        assert!(
            manifest.contains(&format!("name = \"replyline-{function}\"")),
            "{code_uri} builds the binary replyline-{function}"
        );
        assert!(
            replyline_tests::root()
                .join(code_uri)
                .join("src/main.rs")
                .exists(),
            "{code_uri} has one binary (cargo lambda builds it as `bootstrap`)"
        );
    }
}

/// `REPLYLINE_*` string literals in `text`.
fn env_names(text: &str) -> BTreeSet<String> {
    text.split('"')
        .filter(|s| {
            s.starts_with("REPLYLINE_")
                && s.chars()
                    .all(|c| c.is_ascii_uppercase() || c == '_' || c.is_ascii_digit())
        })
        .map(str::to_owned)
        .collect()
}

fn template_env(t: &Value) -> BTreeSet<String> {
    let mut names: BTreeSet<String> = at(t, &["Globals", "Function", "Environment", "Variables"])
        .as_mapping()
        .expect("a mapping")
        .keys()
        .map(|k| text(k).to_owned())
        .collect();
    for (resource, _) in FUNCTIONS {
        if let Some(vars) = maybe(
            at(t, &["Resources", resource]),
            &["Properties", "Environment", "Variables"],
        ) {
            names.extend(
                vars.as_mapping()
                    .expect("a mapping")
                    .keys()
                    .map(|k| text(k).to_owned()),
            );
        }
    }
    names.retain(|n| n.starts_with("REPLYLINE_"));
    names
}

#[test]
fn the_stack_sets_exactly_the_environment_the_functions_read() {
    let t = template();
    let code = std::fs::read_to_string(replyline_tests::root().join("functions/lambda/src/lib.rs"))
        .unwrap();
    let read = env_names(&code);
    let set = template_env(&t);
    // Read by the code but local-only: a config file path and the dev tokens switch.
    let local_only: BTreeSet<String> = ["REPLYLINE_CONFIG", "REPLYLINE_DEV_TOKENS"]
        .map(str::to_owned)
        .into();
    // Set by the stack but read by no one on purpose: changing it restarts every
    // execution environment, which then reads the configuration secret again.
    let restart_only: BTreeSet<String> = ["REPLYLINE_CONFIG_REVISION"].map(str::to_owned).into();
    assert_eq!(
        set.difference(&restart_only)
            .cloned()
            .collect::<BTreeSet<_>>(),
        read.difference(&local_only)
            .cloned()
            .collect::<BTreeSet<_>>(),
        "environment variables: template.yaml sets (left) vs functions/lambda reads (right)"
    );
}

#[test]
fn every_function_logs_to_a_group_with_retention_and_has_alarms() {
    let t = template();
    let alarms = resources_of(&t, "AWS::CloudWatch::Alarm");
    for (resource, _) in FUNCTIONS {
        let f = at(&t, &["Resources", resource]);
        let logging = at(f, &["Properties", "LoggingConfig"]);
        assert_eq!(text(at(logging, &["LogFormat"])), "JSON", "{resource}");
        let group = ref_target(at(logging, &["LogGroup"]))
            .unwrap_or_else(|| panic!("{resource} logs to a log group of the stack"));
        let group = at(&t, &["Resources", group]);
        assert_eq!(text(at(group, &["Type"])), "AWS::Logs::LogGroup");
        assert_eq!(
            ref_target(at(group, &["Properties", "RetentionInDays"])),
            Some("LogRetentionDays")
        );
        for metric in ["Errors", "Throttles"] {
            let watched = alarms.iter().any(|(_, a)| {
                let p = at(a, &["Properties"]);
                text(at(p, &["MetricName"])) == metric
                    && list(at(p, &["Dimensions"]))
                        .iter()
                        .any(|d| ref_target(at(d, &["Value"])) == Some(resource))
                    && maybe(p, &["AlarmActions"]).is_some()
            });
            assert!(watched, "{resource} has an alarm on {metric}");
        }
    }
}

#[test]
fn undeliverable_email_goes_to_a_dead_letter_queue_that_alarms() {
    let t = template();
    let f = at(&t, &["Resources", "EmailInboundFunction", "Properties"]);
    let (tag, target) =
        intrinsic(at(f, &["DeadLetterQueue", "TargetArn"])).expect("a GetAtt of the queue");
    assert_eq!(tag, "GetAtt");
    assert_eq!(text(target), "EmailDeadLetterQueue.Arn");
    let sns = at(f, &["Events", "ReceivedMail"]);
    assert_eq!(text(at(sns, &["Type"])), "SNS");
    assert_eq!(
        ref_target(at(sns, &["Properties", "Topic"])),
        Some("EmailTopic")
    );
    assert!(
        maybe(sns, &["Properties", "RedrivePolicy", "deadLetterTargetArn"]).is_some(),
        "SNS deliveries that fail also land in the queue"
    );
    let dlq_alarm = resources_of(&t, "AWS::CloudWatch::Alarm")
        .into_iter()
        .any(|(_, a)| {
            let p = at(a, &["Properties"]);
            text(at(p, &["Namespace"])) == "AWS/SQS"
                && list(at(p, &["Dimensions"])).iter().any(|d| {
                    intrinsic(at(d, &["Value"]))
                        .is_some_and(|(_, v)| v.as_str() == Some("EmailDeadLetterQueue.QueueName"))
                })
        });
    assert!(dlq_alarm, "the dead-letter queue has an alarm");
    let rule = at(
        &t,
        &[
            "Resources",
            "EmailReceiptRule",
            "Properties",
            "Rule",
            "Actions",
        ],
    );
    assert!(
        list(rule)
            .iter()
            .any(|a| ref_target(at(a, &["SNSAction", "TopicArn"])) == Some("EmailTopic")),
        "SES publishes received mail to the topic"
    );
}

#[test]
fn the_outputs_name_the_urls_to_give_providers_and_agents() {
    let t = template();
    for (output, suffix) in [("WebhookBaseUrl", "/webhooks/"), ("AgentApiUrl", "/v1/")] {
        let (tag, value) = intrinsic(at(&t, &["Outputs", output, "Value"])).unwrap();
        assert_eq!(tag, "Sub");
        let value = text(value);
        assert!(
            value.starts_with("https://${HttpApi}.execute-api."),
            "{value}"
        );
        assert!(value.ends_with(suffix), "{value}");
    }
    assert!(maybe(&t, &["Outputs", "ConfigSecretArn"]).is_some());
}
