//! The AWS actions the read-only verbs call, and nothing more: the policy of the CI role
//! that previews changes (README, "CI roles") allows exactly these. A test records every
//! request `deployer diff` sends (to ministack, through a recording proxy) and compares the
//! calls with this list both ways; another compares the README's policy with it.

/// Every AWS action `deployer diff` calls, with or without `--from`: it reads the bootstrap
/// and stage stacks, makes a change set, reads it and deletes it (never executes one), and
/// with `--from` reads the build record and the build from the asset bucket; with
/// `--template-only` it reads the stage stack and its deployed template, nothing else. A stage that
/// was never deployed is compared without any change set (its template, all added), so no
/// stack is ever created or deleted.
pub const DIFF_ACTIONS: &[&str] = &[
    "cloudformation:CreateChangeSet",
    "cloudformation:DeleteChangeSet",
    "cloudformation:DescribeChangeSet",
    "cloudformation:DescribeStacks",
    "cloudformation:GetTemplate",
    "s3:GetObject",
];

/// What `deployer diff --help` says about the permissions it needs.
pub fn diff_help() -> String {
    format!(
        "AWS permissions: exactly {} (the CI diff role of the README allows only these).",
        DIFF_ACTIONS.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_actions_are_sorted_and_distinct() {
        let mut sorted = DIFF_ACTIONS.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted, DIFF_ACTIONS);
        assert!(diff_help().contains("cloudformation:CreateChangeSet, "));
    }
}
