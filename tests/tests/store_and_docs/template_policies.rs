//! Least privilege, read off template.yaml: no IAM statement grants a wildcard action, and a
//! wildcard resource only where AWS offers nothing narrower (each case named below). Every
//! function has its own role, so SAM adds no managed policy (those carry `*` resources).

use crate::routes_and_docs::root;

/// One IAM statement: its actions and resources, as the template writes them.
#[derive(Debug, Default)]
struct Statement {
    line: usize,
    actions: Vec<String>,
    resources: Vec<String>,
}

/// The indentation of a line, in spaces.
fn indent(line: &str) -> usize {
    line.len() - line.trim_start().len()
}

/// A key's values: inline (`Action: a`, `Action: [a, b]`) or the list items under it.
fn values(lines: &[&str], at: usize, key: &str) -> Vec<String> {
    let line = lines[at];
    let rest = line.trim_start().trim_start_matches("- ");
    let inline = rest[key.len() + 1..].trim();
    if !inline.is_empty() {
        let inline = inline.trim_start_matches('[').trim_end_matches(']');
        if inline.starts_with('!') {
            return vec![inline.to_string()];
        }
        return inline.split(',').map(|s| s.trim().to_string()).collect();
    }
    let key_indent = indent(line);
    let mut out = Vec::new();
    for l in &lines[at + 1..] {
        if l.trim().is_empty() || l.trim_start().starts_with('#') {
            continue;
        }
        if indent(l) <= key_indent || !l.trim_start().starts_with("- ") {
            break;
        }
        out.push(l.trim_start()[2..].trim().to_string());
    }
    out
}

/// Every statement (a block with an `Action`) in a template's text.
fn statements(text: &str) -> Vec<Statement> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let key = line.trim_start().trim_start_matches("- ");
        if !key.starts_with("Effect:") {
            continue;
        }
        // The statement runs from its `- Effect` line to the next line indented no deeper.
        let dash = indent(line);
        let mut s = Statement {
            line: i + 1,
            ..Statement::default()
        };
        for (j, l) in lines.iter().enumerate().skip(i + 1) {
            if !l.trim().is_empty() && indent(l) <= dash {
                break;
            }
            let k = l.trim_start();
            if k.starts_with("Action:") {
                s.actions = values(&lines, j, "Action");
            } else if k.starts_with("Resource:") {
                s.resources = values(&lines, j, "Resource");
            }
        }
        out.push(s);
    }
    out
}

/// Why a statement is too broad, if it is.
fn too_broad(s: &Statement) -> Option<String> {
    if let Some(a) = s.actions.iter().find(|a| a.contains('*')) {
        return Some(format!("a wildcard action {a}"));
    }
    for r in s.resources.iter().filter(|r| r.contains('*')) {
        let xray_only = s.actions.iter().all(|a| a.starts_with("xray:"));
        let allowed =
            // X-Ray's actions take no resource: IAM accepts only "*".
            (r == "\"*\"" && xray_only)
            // A function's log streams (named at run time) in its own log group.
            || (r.contains(":log-group:/aws/lambda/admit-${Stage}-") && r.ends_with(":log-stream:*\""))
            // The stream of the stage's table (its label is set when the table is made).
            || (r == "!Sub \"${Table.Arn}/stream/*\"" && s.actions == ["dynamodb:ListStreams"])
            // Push endpoints (made at run time) of one named platform application.
            || (r.contains("\":endpoint/\"")
                && (r.contains("${IosPlatformApplicationArn}") || r.contains("${AndroidPlatformApplicationArn}"))
                && r.contains("\"/*\"]]"));
        if !allowed {
            return Some(format!("a wildcard resource {r} for {:?}", s.actions));
        }
    }
    None
}

#[test]
fn no_policy_in_the_template_grants_a_wildcard() {
    let text = std::fs::read_to_string(root().join("template.yaml")).unwrap();
    let all = statements(&text);
    assert!(
        all.len() > 100,
        "read only {} statements: the reader is broken",
        all.len()
    );
    let broad: Vec<String> = all
        .iter()
        .filter_map(|s| too_broad(s).map(|why| format!("template.yaml:{}: {why}", s.line)))
        .collect();
    assert!(broad.is_empty(), "{}", broad.join("\n"));
    // Every statement that grants something names what it applies to.
    for s in &all {
        let assume = s.actions == ["sts:AssumeRole"];
        assert!(
            assume || !s.resources.is_empty(),
            "template.yaml:{}: a statement without a resource",
            s.line
        );
    }
}

#[test]
fn every_function_has_its_own_role_so_sam_adds_no_policy() {
    let text = std::fs::read_to_string(root().join("template.yaml")).unwrap();
    // Each resource: from its `  Name:` line to the next.
    let mut blocks: Vec<String> = Vec::new();
    for line in text.lines() {
        let top = indent(line) == 2 && !line.trim_start().starts_with('#');
        match blocks.last_mut() {
            Some(b) if !top => {
                b.push('\n');
                b.push_str(line);
            }
            _ => blocks.push(line.trim_start().to_string()),
        }
    }
    let functions: Vec<&String> = blocks
        .iter()
        .filter(|b| b.contains("\n    Type: AWS::Serverless::Function"))
        .collect();
    assert_eq!(functions.len(), admit_functions::ENDPOINTS.len());
    for f in functions {
        let id = f.lines().next().unwrap().trim_end_matches(':');
        assert!(
            f.contains(&format!("\n      Role: !GetAtt {id}Role.Arn\n")),
            "{id} has no role of its own"
        );
        assert!(
            !f.contains("\n      Policies:"),
            "{id} has SAM policies: SAM would add its managed policies to a role it makes"
        );
    }
}

#[test]
fn the_reader_finds_what_is_too_broad() {
    let text = "
          - Effect: Allow
            Action: dynamodb:*
            Resource: !GetAtt Table.Arn
          - Effect: Allow
            Action:
              - dynamodb:GetItem
            Resource: \"*\"
          - Effect: Allow
            Action:
              - sqs:SendMessage
            Resource:
              - !Sub \"arn:${AWS::Partition}:sqs:${AWS::Region}:${AWS::AccountId}:*\"
          - Effect: Allow
            Action: [xray:PutTraceSegments]
            Resource: \"*\"
";
    let found: Vec<Option<String>> = statements(text).iter().map(too_broad).collect();
    assert_eq!(found.len(), 4);
    assert!(found[0].as_deref().unwrap().contains("wildcard action"));
    assert!(found[1].as_deref().unwrap().contains("wildcard resource"));
    assert!(found[2].as_deref().unwrap().contains("wildcard resource"));
    assert!(found[3].is_none(), "X-Ray takes only *");
}
