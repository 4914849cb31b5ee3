//! The files made from the endpoint table: each function's template.yaml resource with its
//! IAM policy (`render_template_functions`), the Makefile's build targets, the API's per-route
//! settings and the route table of docs/api.md (`render_routes_doc`). Each rendering is
//! compared verbatim with its file by a test; `scripts/generate` writes them.

use crate::endpoint::{Auth, Endpoint, Route, Trigger, DEFAULT_MEMORY};
use crate::iam::{statements, AwsService};
use std::fmt::Write as _;

/// The function resources of template.yaml, between its `BEGIN`/`END` marker lines: per
/// endpoint its function, log group, role and alarms.
pub fn render_template_functions(endpoints: &[Endpoint]) -> String {
    let mut out = String::new();
    for e in endpoints {
        render_function(&mut out, e);
        render_log_group(&mut out, e);
        render_role(&mut out, e);
        for (metric, what) in ALARMS {
            render_alarm(&mut out, e, metric, what);
        }
    }
    out
}

/// The Makefile's targets, between its `BEGIN`/`END` lines: `sam build` makes
/// `build-<logical id>` for each function, and scripts/sam-artifact builds every binary in one
/// cargo invocation and copies that function's.
pub fn render_makefile_targets(endpoints: &[Endpoint]) -> String {
    let mut out = String::new();
    for e in endpoints {
        let _ = write!(
            out,
            "build-{id}:\n\t@scripts/sam-artifact {name} \"$(ARTIFACTS_DIR)\"\n",
            id = e.logical_id,
            name = e.name,
        );
    }
    out
}

/// The HTTP API's per-route throttling, between the `BEGIN`/`END route settings` lines: the
/// routes that take no credential (sign-in, registration, email links) get the public limits.
pub fn render_route_settings(endpoints: &[Endpoint]) -> String {
    let mut out = String::new();
    for e in endpoints.iter().filter(|e| e.auth == Auth::Public) {
        for r in e.routes {
            let _ = write!(
                out,
                "        \"{method} {path}\":
          ThrottlingBurstLimit: !Ref PublicRouteBurstLimit
          ThrottlingRateLimit: !Ref PublicRouteRateLimit
",
                method = r.method,
                path = r.path,
            );
        }
    }
    out
}

fn render_function(out: &mut String, e: &Endpoint) {
    let _ = write!(
        out,
        "
  {id}:
    Type: AWS::Serverless::Function
    Metadata:
      BuildMethod: makefile
    Properties:
      FunctionName: !Sub \"admit-${{Stage}}-{name}\"
      CodeUri: ./
      Description: {description}
      Role: !GetAtt {id}Role.Arn
",
        id = e.logical_id,
        name = e.name,
        description = e.description,
    );
    if e.memory != DEFAULT_MEMORY {
        let _ = writeln!(out, "      MemorySize: {}", e.memory);
    }
    if let Some((seconds, why)) = e.timeout {
        let _ = writeln!(out, "      # {why}\n      Timeout: {seconds}");
    }
    if e.trigger == Trigger::Outbox {
        out.push_str(OUTBOX_INVOKE_CONFIG);
    }
    out.push_str("      Events:\n");
    match e.trigger {
        Trigger::Http => {
            for r in e.routes {
                let _ = write!(
                    out,
                    "        {event}:
          Type: HttpApi
          Properties:
            ApiId: !Ref HttpApi
            Method: {method}
            Path: {path}
",
                    event = event_name(e, r),
                    method = r.method,
                    path = r.path,
                );
            }
        }
        Trigger::Outbox => out.push_str(OUTBOX_EVENTS),
    }
}

fn render_log_group(out: &mut String, e: &Endpoint) {
    let _ = write!(
        out,
        "
  {id}LogGroup:
    Type: AWS::Logs::LogGroup
    Properties:
      LogGroupName: !Sub \"/aws/lambda/${{{id}}}\"
      RetentionInDays: !Ref LogRetentionInDays
",
        id = e.logical_id,
    );
}

/// The function's role: its own log streams, X-Ray (whose actions take no resource), and the
/// statements of its grants.
fn render_role(out: &mut String, e: &Endpoint) {
    let _ = write!(
        out,
        "
  {id}Role:
    Type: AWS::IAM::Role
    Properties:
      Description: !Sub \"admit-${{Stage}}-{name}: what the endpoint table grants it\"
      AssumeRolePolicyDocument:
        Version: \"2012-10-17\"
        Statement:
          - Effect: Allow
            Principal: {{ Service: lambda.amazonaws.com }}
            Action: sts:AssumeRole
      Policies:
        - PolicyName: grants
          PolicyDocument:
            Version: \"2012-10-17\"
            Statement:
              - Effect: Allow
                Action:
                  - logs:CreateLogStream
                  - logs:PutLogEvents
                Resource:
                  - !Sub \"arn:${{AWS::Partition}}:logs:${{AWS::Region}}:${{AWS::AccountId}}:log-group:/aws/lambda/admit-${{Stage}}-{name}:log-stream:*\"
              # X-Ray's actions apply to no resource: IAM takes only \"*\" for them.
              - Effect: Allow
                Action:
                  - xray:PutTraceSegments
                  - xray:PutTelemetryRecords
                Resource: \"*\"
",
        id = e.logical_id,
        name = e.name,
    );
    if e.trigger == Trigger::Outbox {
        out.push_str(STREAM_STATEMENTS);
    }
    for (service, actions, resources) in statements(&e.all_grants()) {
        let (indent, guard) = if service == AwsService::Sns {
            // With no platform application given, push is off and the statement would name
            // no resource: it is left out.
            ("                ", true)
        } else {
            ("              ", false)
        };
        if guard {
            out.push_str("              - !If\n                - HasPush\n");
        }
        let _ = writeln!(out, "{indent}- Effect: Allow\n{indent}  Action:");
        for a in actions {
            let _ = writeln!(out, "{indent}    - {a}");
        }
        let _ = writeln!(out, "{indent}  Resource:");
        for r in resources {
            let _ = writeln!(out, "{indent}    - {r}");
        }
        if guard {
            out.push_str("                - !Ref AWS::NoValue\n");
        }
    }
}

/// The alarms every function has: the metric, and what it means to the operator.
const ALARMS: [(&str, &str); 2] = [
    (
        "Errors",
        "failed an invocation (a crash or a timeout; the errors it answers are not counted)",
    ),
    (
        "Throttles",
        "was throttled (the account's or its own concurrency limit was reached)",
    ),
];

fn render_alarm(out: &mut String, e: &Endpoint, metric: &str, what: &str) {
    let _ = write!(
        out,
        "
  {id}{metric}Alarm:
    Type: AWS::CloudWatch::Alarm
    Properties:
      AlarmName: !Sub \"admit-${{Stage}}-{name}-{lower}\"
      AlarmDescription: !Sub \"admit-${{Stage}}-{name} {what}. docs/deploy.md, Alarms.\"
      Namespace: AWS/Lambda
      MetricName: {metric}
      Dimensions:
        - Name: FunctionName
          Value: !Ref {id}
      Statistic: Sum
      Period: 300
      EvaluationPeriods: 1
      Threshold: 1
      ComparisonOperator: GreaterThanOrEqualToThreshold
      TreatMissingData: notBreaching
      AlarmActions:
        - !Ref AlarmTopic
",
        id = e.logical_id,
        name = e.name,
        lower = metric.to_ascii_lowercase(),
    );
}

/// `word` with its first letter upper-case and the rest lower-case.
fn pascal(word: &str) -> String {
    let mut out = String::new();
    for (i, c) in word.chars().filter(char::is_ascii_alphanumeric).enumerate() {
        if i == 0 {
            out.push(c.to_ascii_uppercase());
        } else {
            out.push(c.to_ascii_lowercase());
        }
    }
    out
}

/// The dispatcher's event sources: outbox inserts from the table's stream, and a sweep.
const OUTBOX_EVENTS: &str = r#"        Outbox:
          Type: DynamoDB
          Properties:
            Stream: !GetAtt Table.StreamArn
            StartingPosition: TRIM_HORIZON
            BatchSize: 10
            MaximumBatchingWindowInSeconds: 1
            MaximumRetryAttempts: 10
            FunctionResponseTypes: [ReportBatchItemFailures]
            FilterCriteria:
              Filters:
                - Pattern: '{"eventName": ["INSERT"], "dynamodb": {"Keys": {"pk": {"S": [{"prefix": "OUTBOX#"}]}}}}'
            DestinationConfig:
              OnFailure:
                Type: SQS
                Destination: !GetAtt OutboxDeadLetterQueue.Arn
        Sweep:
          Type: Schedule
          Properties:
            Schedule: rate(5 minutes)
            Description: Delivers outbox messages still pending after the stream gave up
            # A sweep that cannot run is retried twice within its interval, then recorded in the
            # dead-letter queue (the next sweep covers the same messages).
            RetryPolicy:
              MaximumRetryAttempts: 2
              MaximumEventAgeInSeconds: 240
            DeadLetterConfig:
              Arn: !GetAtt OutboxDeadLetterQueue.Arn
"#;

/// The dispatcher's asynchronous invocations (the sweep): failures to the dead-letter queue.
const OUTBOX_INVOKE_CONFIG: &str = r#"      EventInvokeConfig:
        MaximumRetryAttempts: 2
        MaximumEventAgeInSeconds: 240
        DestinationConfig:
          OnFailure:
            Type: SQS
            Destination: !GetAtt OutboxDeadLetterQueue.Arn
"#;

/// What Lambda's event source mapping needs to read the table's stream for the dispatcher.
const STREAM_STATEMENTS: &str = r#"              - Effect: Allow
                Action:
                  - dynamodb:DescribeStream
                  - dynamodb:GetRecords
                  - dynamodb:GetShardIterator
                Resource:
                  - !GetAtt Table.StreamArn
              - Effect: Allow
                Action:
                  - dynamodb:ListStreams
                Resource:
                  - !Sub "${Table.Arn}/stream/*"
"#;

/// The route table of docs/api.md, between its `BEGIN`/`END` marker lines.
pub fn render_routes_doc(endpoints: &[Endpoint]) -> String {
    let mut out = String::from("| route | function | what it does |\n|---|---|---|\n");
    for e in endpoints {
        for r in e.routes {
            let _ = writeln!(
                out,
                "| `{} {}` | `{}` | {} |",
                r.method, r.path, e.name, r.summary
            );
        }
    }
    out
}

/// Replaces what lies between the line holding `begin` and the line holding `end` in `text`;
/// `None` when either marker is missing.
pub fn splice(text: &str, begin: &str, end: &str, body: &str) -> Option<String> {
    let b = text.find(begin)?;
    let after_begin = b + text[b..].find('\n')? + 1;
    let e = after_begin + text[after_begin..].find(end)?;
    let end_line = text[..e].rfind('\n').map_or(0, |i| i + 1);
    Some(format!(
        "{}{}{}",
        &text[..after_begin],
        body,
        &text[end_line..]
    ))
}

pub const TEMPLATE_BEGIN: &str = "# BEGIN functions";
pub const TEMPLATE_END: &str = "# END functions";
pub const MAKEFILE_BEGIN: &str = "# BEGIN functions";
pub const MAKEFILE_END: &str = "# END functions";
pub const ROUTE_SETTINGS_BEGIN: &str = "# BEGIN route settings";
pub const ROUTE_SETTINGS_END: &str = "# END route settings";
pub const DOC_BEGIN: &str = "<!-- BEGIN routes";
pub const DOC_END: &str = "<!-- END routes";

/// `Api` for a function's only route, else the method (`Get`, `Post`, ...).
pub(crate) fn event_name(e: &Endpoint, r: &Route) -> String {
    if e.routes.len() == 1 {
        return "Api".into();
    }
    let mut name = pascal(r.method);
    // The first route of a method keeps the method's name; later ones add their last segment.
    let first = e.routes.iter().find(|o| o.method == r.method);
    if first.is_some_and(|f| f.path != r.path) {
        let last = r.path.rsplit('/').next().unwrap_or_default();
        name.push_str(&pascal(last.trim_matches(['{', '}'])));
    }
    name
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splice_replaces_between_the_marker_lines() {
        let text = "a\n# BEGIN x\nold\n# END x\nb\n";
        assert_eq!(
            splice(text, "# BEGIN x", "# END x", "new\n").as_deref(),
            Some("a\n# BEGIN x\nnew\n# END x\nb\n")
        );
        assert_eq!(splice(text, "# BEGIN y", "# END x", ""), None);
    }
}
