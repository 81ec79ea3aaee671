//! DescribeConfigs, AlterConfigs and IncrementalAlterConfigs for TOPIC, BROKER ("" for every
//! broker, the node id for this one) and GROUP resources, answered as Kafka's `ConfigHelper`
//! and `ConfigAdminManager` answer them: sources, synonyms in Kafka's order, ConfigType and
//! documentation on request, and `error_message = null` on success.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::describe_configs_response::{
    DescribeConfigsResourceResult, DescribeConfigsResult, DescribeConfigsSynonym,
};
use kafka_protocol::messages::{
    AlterConfigsRequest, AlterConfigsResponse, DescribeConfigsRequest, DescribeConfigsResponse,
    IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse,
};
use tidelog_broker::{BrokerError, ConfigChange, ConfigEntry, ConfigSource};

use super::str_bytes;
use crate::errors::{error_code, NONE};
use crate::scope::Scope;

pub(crate) const RESOURCE_TOPIC: i8 = 2;
pub(crate) const RESOURCE_BROKER: i8 = 4;
pub(crate) const RESOURCE_GROUP: i8 = 32;

/// Kafka's ConfigSource ids.
pub(crate) fn source_code(source: ConfigSource) -> i8 {
    source.kafka_id()
}

/// What the listener knows of the reported-only broker settings.
fn runtime_values(ctx: &Scope) -> BTreeMap<&'static str, String> {
    let advertised = format!("PLAINTEXT://{}:{}", ctx.listener.advertised_host, ctx.listener.advertised_port);
    let bound = ctx.bound_addr.map_or_else(|| advertised.clone(), |a| format!("PLAINTEXT://{a}"));
    [("listeners", bound), ("advertised.listeners", advertised)].into()
}

fn entries_of(ctx: &Scope, resource_type: i8, name: &str) -> Result<Vec<ConfigEntry>, (i16, String)> {
    let failed = |e: BrokerError| (error_code(&e), e.to_string());
    match resource_type {
        RESOURCE_TOPIC => ctx.broker.topic_config_entries(&ctx.caller, name).map_err(failed),
        RESOURCE_BROKER => {
            let layer = ctx.broker.broker_config_layer(name).map_err(failed)?;
            ctx.broker.broker_config_entries(&ctx.caller, layer, runtime_values(ctx)).map_err(failed)
        }
        RESOURCE_GROUP => ctx.broker.group_config_entries(&ctx.caller, name).map_err(failed),
        other => Err((ResponseError::InvalidRequest.code(), format!("Unsupported resource type: {other}"))),
    }
}

pub(crate) fn describe(ctx: &Arc<Scope>, request: DescribeConfigsRequest, version: i16) -> DescribeConfigsResponse {
    let options = Options { synonyms: request.include_synonyms, documentation: request.include_documentation, version };
    let results = request
        .resources
        .into_iter()
        .map(|resource| {
            let mut result = DescribeConfigsResult::default()
                .with_resource_type(resource.resource_type)
                .with_resource_name(resource.resource_name.clone())
                .with_error_code(NONE)
                .with_error_message(None);
            match entries_of(ctx, resource.resource_type, &resource.resource_name) {
                Ok(entries) => {
                    let keys: Option<BTreeSet<String>> =
                        resource.configuration_keys.map(|k| k.iter().map(|s| s.to_string()).collect());
                    result.configs = entries
                        .into_iter()
                        .filter(|e| keys.as_ref().is_none_or(|k| k.contains(&e.name)))
                        .map(|e| config_result(e, options))
                        .collect();
                }
                Err((code, message)) => {
                    result.error_code = code;
                    result.error_message = Some(str_bytes(message));
                }
            }
            result
        })
        .collect();
    DescribeConfigsResponse::default().with_results(results)
}

/// What a DescribeConfigs request asks to include.
#[derive(Clone, Copy)]
struct Options {
    synonyms: bool,
    documentation: bool,
    version: i16,
}

fn config_result(entry: ConfigEntry, options: Options) -> DescribeConfigsResourceResult {
    let mut r = DescribeConfigsResourceResult::default()
        .with_name(str_bytes(entry.name.clone()))
        .with_value(entry.value.map(str_bytes))
        .with_read_only(entry.read_only)
        .with_is_sensitive(false)
        .with_config_source(source_code(entry.source));
    if options.synonyms {
        r.synonyms = entry
            .synonyms
            .into_iter()
            .map(|s| {
                DescribeConfigsSynonym::default()
                    .with_name(str_bytes(s.name))
                    .with_value(s.value.map(str_bytes))
                    .with_source(source_code(s.source))
            })
            .collect();
    }
    // ConfigType and documentation exist from v3; earlier versions keep the codec's defaults.
    if options.version >= 3 {
        r.config_type = entry.kind.config_type();
        r.documentation = options.documentation.then(|| str_bytes(entry.doc));
    }
    r
}

/// One resource's changes after Kafka's request checks, or the refusal.
type Changes = Result<Vec<ConfigChange>, (i16, String)>;

fn invalid_request(message: impl Into<String>) -> (i16, String) {
    (ResponseError::InvalidRequest.code(), message.into())
}

/// Kafka's preprocessing: no key twice, no null value outside DELETE.
fn checked(names: &[String], null_values: Vec<String>, changes: Vec<ConfigChange>) -> Changes {
    if names.iter().collect::<BTreeSet<_>>().len() != names.len() {
        return Err(invalid_request("Error due to duplicate config keys"));
    }
    if !null_values.is_empty() {
        return Err(invalid_request(format!("Null value not supported for : {}", null_values.join(", "))));
    }
    Ok(changes)
}

/// Applies one resource's changes; `(error_code, error_message)`, the message `None` on
/// success.
fn alter_resource(
    ctx: &Scope,
    resource_type: i8,
    name: &str,
    changes: Changes,
    validate_only: bool,
) -> (i16, Option<String>) {
    let changes = match changes {
        Ok(c) => c,
        Err((code, message)) => return (code, Some(message)),
    };
    let outcome = match resource_type {
        RESOURCE_TOPIC => ctx.broker.alter_topic_configs(&ctx.caller, name, &changes, validate_only),
        RESOURCE_BROKER => ctx
            .broker
            .broker_config_layer(name)
            .and_then(|layer| ctx.broker.alter_broker_configs(&ctx.caller, layer, &changes, validate_only)),
        RESOURCE_GROUP => ctx.broker.alter_group_configs(&ctx.caller, name, &changes, validate_only),
        other => return (ResponseError::InvalidRequest.code(), Some(format!("Unknown resource type {other}"))),
    };
    match outcome {
        Ok(()) => (NONE, None),
        Err(e) => (error_code(&e), Some(e.to_string())),
    }
}

/// Resources named twice in one request: Kafka refuses each of them.
fn repeated<'a>(resources: impl Iterator<Item = (i8, &'a str)>) -> BTreeSet<(i8, String)> {
    let mut seen = BTreeSet::new();
    let mut twice = BTreeSet::new();
    for (t, n) in resources {
        if !seen.insert((t, n.to_string())) {
            twice.insert((t, n.to_string()));
        }
    }
    twice
}

const REPEATED: &str = "Each resource must appear at most once.";

pub(crate) fn alter(ctx: &Arc<Scope>, request: AlterConfigsRequest, _version: i16) -> AlterConfigsResponse {
    use kafka_protocol::messages::alter_configs_response::AlterConfigsResourceResponse;
    let twice = repeated(request.resources.iter().map(|r| (r.resource_type, r.resource_name.as_str())));
    let responses = request
        .resources
        .into_iter()
        .map(|r| {
            let names: Vec<String> = r.configs.iter().map(|c| c.name.to_string()).collect();
            let nulls = r.configs.iter().filter(|c| c.value.is_none()).map(|c| c.name.to_string()).collect();
            // AlterConfigs replaces every stored value of the resource with the given set.
            let sets = r
                .configs
                .iter()
                .filter_map(|c| c.value.as_ref().map(|v| ConfigChange::Set(c.name.to_string(), v.to_string())));
            let changes = if twice.contains(&(r.resource_type, r.resource_name.to_string())) {
                Err(invalid_request(REPEATED))
            } else {
                checked(&names, nulls, std::iter::once(ConfigChange::ClearAll).chain(sets).collect())
            };
            let (code, message) =
                alter_resource(ctx, r.resource_type, &r.resource_name, changes, request.validate_only);
            AlterConfigsResourceResponse::default()
                .with_error_code(code)
                .with_error_message(message.map(str_bytes))
                .with_resource_type(r.resource_type)
                .with_resource_name(r.resource_name)
        })
        .collect();
    AlterConfigsResponse::default().with_responses(responses)
}

pub(crate) fn incremental_alter(
    ctx: &Arc<Scope>,
    request: IncrementalAlterConfigsRequest,
    _version: i16,
) -> IncrementalAlterConfigsResponse {
    use kafka_protocol::messages::incremental_alter_configs_response::AlterConfigsResourceResponse;
    let twice = repeated(request.resources.iter().map(|r| (r.resource_type, r.resource_name.as_str())));
    let responses = request
        .resources
        .into_iter()
        .map(|r| {
            let names: Vec<String> = r.configs.iter().map(|c| c.name.to_string()).collect();
            let nulls = r
                .configs
                .iter()
                .filter(|c| c.config_operation != 1 && c.value.is_none())
                .map(|c| c.name.to_string())
                .collect();
            let changes: Result<Vec<ConfigChange>, (i16, String)> = r
                .configs
                .iter()
                .map(|c| {
                    let (name, value) = (c.name.to_string(), c.value.as_deref().unwrap_or_default().to_string());
                    match c.config_operation {
                        0 => Ok(ConfigChange::Set(name, value)),
                        1 => Ok(ConfigChange::Delete(name)),
                        2 => Ok(ConfigChange::Append(name, value)),
                        3 => Ok(ConfigChange::Subtract(name, value)),
                        op => Err(invalid_request(format!("Unknown operations type {op}"))),
                    }
                })
                .collect();
            let changes = if twice.contains(&(r.resource_type, r.resource_name.to_string())) {
                Err(invalid_request(REPEATED))
            } else {
                changes.and_then(|c| checked(&names, nulls, c))
            };
            let (code, message) =
                alter_resource(ctx, r.resource_type, &r.resource_name, changes, request.validate_only);
            AlterConfigsResourceResponse::default()
                .with_error_code(code)
                .with_error_message(message.map(str_bytes))
                .with_resource_type(r.resource_type)
                .with_resource_name(r.resource_name)
        })
        .collect();
    IncrementalAlterConfigsResponse::default().with_responses(responses)
}
