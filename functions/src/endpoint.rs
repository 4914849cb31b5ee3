//! What a row of the endpoint table says, and how the rest of the repo reads it: the routes
//! `admit serve` mounts, the ports a cold start builds, each function's template.yaml resource
//! with its IAM policy (`render_template_functions`) and the route table of docs/api.md
//! (`render_routes_doc`). Both renderings are compared verbatim with the files by a test;
//! `admit generate` writes them.

use admit_shared::PortSet;
use std::fmt::Write as _;

/// One endpoint: one Lambda function, serving one or more routes (or an event source).
#[derive(Debug, Clone, Copy)]
pub struct Endpoint {
    /// The handler module and the binary (`src/bin/<name>.rs`, cargo-lambda's `Binary`).
    pub name: &'static str,
    /// The SAM logical id of the function.
    pub logical_id: &'static str,
    /// Whose error shape the endpoint answers in.
    pub family: Family,
    /// Who may call it, and how they say who they are.
    pub auth: Auth,
    /// The function's description in template.yaml (at most 256 characters).
    pub description: &'static str,
    /// The HTTP API routes, none for an event-driven function.
    pub routes: &'static [Route],
    /// What invokes the function.
    pub trigger: Trigger,
    /// Memory in MB (the template's global default is `DEFAULT_MEMORY`).
    pub memory: u32,
    /// A timeout other than the global one, in seconds, and why.
    pub timeout: Option<(u32, &'static str)>,
    /// Everything the function may touch: its IAM policy, and the ports its cold start builds.
    pub grants: &'static [Grant],
    /// Why a POST or PUT of this JSON endpoint does not replay its first answer for a repeated
    /// `Idempotency-Key` (`None`: it does; pages never do, browsers send no key).
    pub no_replay: Option<&'static str>,
}

/// The template's `Globals.Function.MemorySize`.
pub const DEFAULT_MEMORY: u32 = 128;

/// The memory of every function that hashes or checks a password (Argon2id, one lane): Lambda
/// gives CPU in proportion to memory (1,769 MB is one vCPU), and this is the size at which one
/// hash stays under 100 ms (docs/performance.md, "Memory and hashing").
pub const HASHING_MEMORY: u32 = 1024;

impl Endpoint {
    /// The defaults a row starts from (each row names its own `name` and what differs).
    pub const DEFAULTS: Endpoint = Endpoint {
        name: "",
        logical_id: "",
        family: Family::NextInteract,
        auth: Auth::Public,
        description: "",
        routes: &[],
        trigger: Trigger::Http,
        memory: DEFAULT_MEMORY,
        timeout: None,
        grants: &[],
        no_replay: None,
    };

    /// Whether a POST or PUT with an `Idempotency-Key` replays its first answer
    /// (`admit_shared::http::idempotency`).
    pub const fn replays(&self) -> bool {
        self.no_replay.is_none()
            && matches!(
                self.family,
                Family::NextInteract | Family::Platform | Family::Site
            )
    }

    /// How the endpoint answers an error before its handler runs (in its family's shape).
    pub fn refusal(
        &self,
    ) -> fn(&admit_shared::domain::error::DomainError) -> lambda_http::Response<lambda_http::Body>
    {
        use admit_shared::http::{nextinteract, pages, platform, site};
        match self.family {
            Family::NextInteract => nextinteract::error_response,
            Family::Platform => |e| platform::error_response(e, "application/json"),
            Family::Site => site::error_response,
            Family::Page | Family::Event => pages::problem_page,
        }
    }

    /// The content negotiation of the endpoint's family, made at the edge before any work: a
    /// request whose `Accept` admits none of the family's media types is refused (406) with
    /// nothing done. Pages answer HTML whatever is asked.
    pub fn negotiate(
        &self,
        req: &lambda_http::Request,
    ) -> Result<(), admit_shared::domain::error::DomainError> {
        use admit_shared::http::{self, platform};
        match self.family {
            Family::Platform => platform::negotiate(req).map(drop),
            Family::NextInteract | Family::Site => http::accepts_json(req),
            Family::Page | Family::Event => Ok(()),
        }
    }

    /// The ports a cold start builds besides the store: SES only for a function granted it,
    /// SNS only for one granted an SNS action.
    pub const fn ports(&self) -> PortSet {
        let mut ports = PortSet::STORE;
        let mut rest = self.grants;
        while let [grant, tail @ ..] = rest {
            match grant.service() {
                AwsService::Ses => ports.mail = true,
                AwsService::Sns => ports.push = true,
                AwsService::Events => ports.events = true,
                _ => {}
            }
            rest = tail;
        }
        ports
    }

    /// Whether the function may do `grant`: its row grants it, or its authentication brings it.
    pub fn grants(&self, grant: Grant) -> bool {
        self.all_grants().contains(&grant)
    }

    /// Everything the function may do: what its row grants and what checking its caller
    /// needs (`Auth::grants`), in one order.
    pub fn all_grants(&self) -> Vec<Grant> {
        let mut all: Vec<Grant> = self
            .grants
            .iter()
            .chain(self.auth.grants())
            .copied()
            .collect();
        all.sort();
        all.dedup();
        all
    }
}

/// One route: a method and an HTTP API path template (`{name}` for a path parameter).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    pub method: &'static str,
    pub path: &'static str,
    /// One line for docs/api.md's route table.
    pub summary: &'static str,
}

pub const fn route(method: &'static str, path: &'static str, summary: &'static str) -> Route {
    Route {
        method,
        path,
        summary,
    }
}

/// The vendor's API families, and the two kinds of endpoint that are neither.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// `/rest/...`: the auth-token or API-key headers, `{errorCode, errorMsg, exception}` errors.
    NextInteract,
    /// `/api/users/...`, `/api/businesses/...`: bearer or cookie sessions, `{Status, Error, Message}` errors.
    Platform,
    /// `/api/rest/v1/management/...`: a bearer session of the site's admin, `{message}` errors.
    Site,
    /// HTML pages that email links open.
    Page,
    /// Not behind the API: invoked by an event source.
    Event,
}

/// How a caller says who they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Auth {
    /// No credential: the body or a link's token says who (login, registration, email links).
    Public,
    /// `x-nextinteract-authtoken`: the token loginUser returns.
    Session,
    /// `x-nextinteract-authtoken` when the caller has one; the call works without.
    OptionalSession,
    /// `x-nextinteract-company-api-key` of the company's admin key.
    AdminKey,
    /// `x-nextinteract-company-api-key` of the company's admin or app key.
    CompanyKey,
    /// `Authorization: Bearer <authToken>`, or the session cookie with `X-Csrf-Token_{id}`.
    PlatformSession,
    /// `Authorization: Bearer <authToken>`.
    Bearer,
    /// Not called through the API.
    Internal,
}

impl Auth {
    /// What checking a caller this way touches: a session is read, and one found expired is
    /// ended (the user's index read, the session deleted, its end recorded in the activity
    /// log); an API key is read. Each row with this authentication has these grants without
    /// writing them.
    pub const fn grants(self) -> &'static [Grant] {
        use Grant::*;
        match self {
            Auth::Session | Auth::OptionalSession | Auth::PlatformSession | Auth::Bearer => {
                &[GetItem, QueryGsi1, PutItem, DeleteItem]
            }
            Auth::AdminKey | Auth::CompanyKey => &[GetItem],
            Auth::Public | Auth::Internal => &[],
        }
    }
}

/// What invokes a function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// Its routes on the stage's HTTP API.
    Http,
    /// The table's stream (outbox inserts, failures to the dead-letter queue) and a schedule.
    Outbox,
}

/// Where a grant's action applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum AwsService {
    Table,
    Index,
    Ses,
    Sns,
    Sqs,
    Events,
}

/// One thing a function may do: an IAM action on one kind of resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Grant {
    GetItem,
    BatchGetItem,
    /// A query of the table itself.
    Query,
    PutItem,
    UpdateItem,
    DeleteItem,
    /// A transaction's condition-only write.
    ConditionCheckItem,
    /// A query of the `gsi1` index.
    QueryGsi1,
    /// A query of the `gsi2` index.
    QueryGsi2,
    SesSendRawEmail,
    SnsCreatePlatformEndpoint,
    SnsDeleteEndpoint,
    SnsPublish,
    /// The stream's failed batches sent to the dead-letter queue. Lambda's event source
    /// mapping sends them with the function's role, so no port of ours records it.
    SqsSendToDeadLetterQueue,
    /// Domain events onto the stage's EventBridge bus.
    EventsPutEvents,
}

impl Grant {
    pub const fn service(self) -> AwsService {
        match self {
            Grant::GetItem
            | Grant::BatchGetItem
            | Grant::Query
            | Grant::PutItem
            | Grant::UpdateItem
            | Grant::DeleteItem
            | Grant::ConditionCheckItem => AwsService::Table,
            Grant::QueryGsi1 | Grant::QueryGsi2 => AwsService::Index,
            Grant::SesSendRawEmail => AwsService::Ses,
            Grant::SnsCreatePlatformEndpoint | Grant::SnsDeleteEndpoint | Grant::SnsPublish => {
                AwsService::Sns
            }
            Grant::SqsSendToDeadLetterQueue => AwsService::Sqs,
            Grant::EventsPutEvents => AwsService::Events,
        }
    }

    /// The IAM action.
    pub const fn action(self) -> &'static str {
        match self {
            Grant::GetItem => "dynamodb:GetItem",
            Grant::BatchGetItem => "dynamodb:BatchGetItem",
            Grant::Query | Grant::QueryGsi1 | Grant::QueryGsi2 => "dynamodb:Query",
            Grant::PutItem => "dynamodb:PutItem",
            Grant::UpdateItem => "dynamodb:UpdateItem",
            Grant::DeleteItem => "dynamodb:DeleteItem",
            Grant::ConditionCheckItem => "dynamodb:ConditionCheckItem",
            Grant::SesSendRawEmail => "ses:SendRawEmail",
            Grant::SnsCreatePlatformEndpoint => "sns:CreatePlatformEndpoint",
            Grant::SnsDeleteEndpoint => "sns:DeleteEndpoint",
            Grant::SnsPublish => "sns:Publish",
            Grant::SqsSendToDeadLetterQueue => "sqs:SendMessage",
            Grant::EventsPutEvents => "events:PutEvents",
        }
    }

    /// The resources, as template.yaml writes them: each exact, but for an SNS endpoint (made
    /// at run time under a platform application named by a parameter, so only the application
    /// part of its ARN is known).
    pub const fn resources(self) -> &'static [&'static str] {
        match self {
            Grant::QueryGsi1 => &["!Sub \"${Table.Arn}/index/gsi1\""],
            Grant::QueryGsi2 => &["!Sub \"${Table.Arn}/index/gsi2\""],
            // SES checks the identity the sender is verified under: the address or its domain.
            Grant::SesSendRawEmail => &[
                "!Sub \"arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:identity/${MailFrom}\"",
                "!Sub [\"arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:identity/${Domain}\", {Domain: !Select [1, !Split [\"@\", !Ref MailFrom]]}]",
            ],
            Grant::SnsCreatePlatformEndpoint => &[
                "!If [HasIosPush, !Ref IosPlatformApplicationArn, !Ref AWS::NoValue]",
                "!If [HasAndroidPush, !Ref AndroidPlatformApplicationArn, !Ref AWS::NoValue]",
            ],
            Grant::SnsDeleteEndpoint | Grant::SnsPublish => &[
                "!If [HasIosPush, !Join [\"\", [!Select [0, !Split [\":app/\", !Sub \"${IosPlatformApplicationArn}:app/-\"]], \":endpoint/\", !Select [1, !Split [\":app/\", !Sub \"${IosPlatformApplicationArn}:app/-\"]], \"/*\"]], !Ref AWS::NoValue]",
                "!If [HasAndroidPush, !Join [\"\", [!Select [0, !Split [\":app/\", !Sub \"${AndroidPlatformApplicationArn}:app/-\"]], \":endpoint/\", !Select [1, !Split [\":app/\", !Sub \"${AndroidPlatformApplicationArn}:app/-\"]], \"/*\"]], !Ref AWS::NoValue]",
            ],
            Grant::SqsSendToDeadLetterQueue => &["!GetAtt OutboxDeadLetterQueue.Arn"],
            Grant::EventsPutEvents => &["!GetAtt EventBus.Arn"],
            _ => &["!GetAtt Table.Arn"],
        }
    }

    /// Whether a port records this call while the tests run (see `SqsSendToDeadLetterQueue`).
    pub const fn observable(self) -> bool {
        !matches!(self, Grant::SqsSendToDeadLetterQueue)
    }
}

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

/// The policy's statements, (service, actions, resources) each: one for the table, one for
/// every index queried, and one per other resource, in that order.
fn statements(grants: &[Grant]) -> Vec<(AwsService, Vec<&'static str>, Vec<&'static str>)> {
    type Group = (
        AwsService,
        &'static [&'static str],
        Vec<&'static str>,
        Vec<&'static str>,
    );
    let mut out: Vec<Group> = Vec::new();
    let mut sorted = grants.to_vec();
    sorted.sort_by_key(|g| g.service());
    for g in sorted {
        // Every index query is one statement (one action on a list of indexes).
        let group: &'static [&'static str] = if g.service() == AwsService::Index {
            &["index"]
        } else {
            g.resources()
        };
        match out
            .iter_mut()
            .find(|(s, k, _, _)| *s == g.service() && *k == group)
        {
            Some((_, _, actions, resources)) => {
                if !actions.contains(&g.action()) {
                    actions.push(g.action());
                }
                for r in g.resources() {
                    if !resources.contains(r) {
                        resources.push(r);
                    }
                }
            }
            None => out.push((g.service(), group, vec![g.action()], g.resources().to_vec())),
        }
    }
    out.into_iter().map(|(s, _, a, r)| (s, a, r)).collect()
}

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

/// Path parameters taken from a request path (`{deviceId}` -> value).
pub type PathParams = Vec<(String, String)>;

/// Matches a path against a template such as `/rest/user/devices/{deviceId}`.
pub fn match_path(template: &str, path: &str) -> Option<PathParams> {
    let path = if path.len() > 1 {
        path.trim_end_matches('/')
    } else {
        path
    };
    let (t, p): (Vec<&str>, Vec<&str>) = (template.split('/').collect(), path.split('/').collect());
    if t.len() != p.len() {
        return None;
    }
    let mut params = Vec::new();
    for (t, p) in t.iter().zip(p) {
        match t.strip_prefix('{').and_then(|n| n.strip_suffix('}')) {
            Some(name) if !p.is_empty() => params.push((name.to_string(), p.to_string())),
            Some(_) => return None,
            None if *t == p => {}
            None => return None,
        }
    }
    Some(params)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_match_with_parameters() {
        assert_eq!(match_path("/a/b", "/a/b"), Some(vec![]));
        assert_eq!(match_path("/a/b", "/a/b/"), Some(vec![]));
        assert_eq!(
            match_path("/a/{id}", "/a/42"),
            Some(vec![("id".into(), "42".into())])
        );
        assert_eq!(match_path("/a/{id}", "/a/"), None);
        assert_eq!(match_path("/a/{id}", "/a/1/2"), None);
        assert_eq!(match_path("/a/b", "/a/c"), None);
    }

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
