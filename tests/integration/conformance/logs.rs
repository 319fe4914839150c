//! The tests of the runner's `ExpectedLogs` check (`tests::conformance::logs`, in the
//! support library).

mod tests {
    use serde_json::json;

    use ::tests::conformance::logs::*;
    use ::tests::conformance::matcher::Placeholders;

    #[test]
    fn counts_and_order_are_checked() {
        let logs = "[conformance] {\"message\":\"start x\",\"durableExecutionArn\":\"A\"}\n\
                    [conformance] {\"message\":\"other\",\"durableExecutionArn\":\"B\"}\n\
                    [conformance] not json\n\
                    [conformance] {\"message\":\"end x\",\"durableExecutionArn\":\"A\"}\n";
        let recs = records(logs, "conformance", "A");
        assert_eq!(recs.len(), 2);
        let ctx = Placeholders::default();
        let ok = [
            json!({"match": {"message": "/x/"}, "count": 2}),
            json!({"match": {"message": "end x"}, "after": {"message": "/start/"}}),
            json!({"match": {"message": "/other/"}, "count": 0}),
        ];
        assert_eq!(validate(&ok, &recs, &ctx), Vec::<String>::new());
        let bad = [
            json!({"match": {"message": "/x/"}, "count": 1}),
            json!({"match": {"message": "start x"}, "after": {"message": "/end/"}}),
            json!({"match": {"message": "/nothing/"}}),
        ];
        assert_eq!(validate(&bad, &recs, &ctx).len(), 3);
    }
}
