//! What a function may do: its grants, each an IAM action on one kind of resource, and the
//! policy statements they make.

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

/// The policy's statements, (service, actions, resources) each: one for the table, one for
/// every index queried, and one per other resource, in that order.
pub(crate) fn statements(
    grants: &[Grant],
) -> Vec<(AwsService, Vec<&'static str>, Vec<&'static str>)> {
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
