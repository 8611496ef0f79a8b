package stack

import (
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
)

// The stack is checked by cdk-nag's AwsSolutions and Serverless packs (see
// nag_test.go). A finding that is not fixed is suppressed beside the
// resource it concerns, with the reason it does not apply there.

// nagRule is one suppressed cdk-nag rule: its id, why, and optionally the
// findings of the rule it covers (e.g. "Resource::*"), so that a new
// wildcard of another kind is still reported.
type nagRule struct {
	id, reason string
	appliesTo  []string
}

// suppress records rules as accepted on construct, and on its children
// (the policy of a role, the routes of an API) when children is true.
func suppress(construct constructs.IConstruct, children bool, rules ...nagRule) {
	var out []*cdknag.NagPackSuppression
	for _, r := range rules {
		sup := &cdknag.NagPackSuppression{Id: jsii.String(r.id), Reason: jsii.String(r.reason)}
		if len(r.appliesTo) > 0 {
			applies := make([]any, len(r.appliesTo))
			for i, a := range r.appliesTo {
				applies[i] = a
			}
			sup.AppliesTo = &applies
		}
		out = append(out, sup)
	}
	cdknag.NagSuppressions_AddResourceSuppressions(construct, &out, jsii.Bool(children))
}

// failureQueueRules are the findings of a queue that is itself where
// failures end up: a dead-letter queue of its own would only move the
// messages one queue further, and its alarm fires on the first one.
func failureQueueRules(what string) []nagRule {
	reason := what + " is itself a dead-letter (failure) queue, watched by an alarm from its first message; a queue behind it would only move the messages"
	return []nagRule{
		{id: "AwsSolutions-SQS3", reason: reason},
		{id: "Serverless-SQSRedrivePolicy", reason: reason},
	}
}
