package stack

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"

	"github.com/acme/accountadmin/shared/routes"
)

// GIVEN a deployment THEN it has the stage's SES configuration set, with
// reputation metrics, as the sender identity's default; and bounces,
// complaints, delivery delays and rejections go from it to an SNS topic.
func TestMailEventsGoFromTheConfigurationSetToATopic(t *testing.T) {
	both(t, func(t *testing.T, d *deployment) {
		configSetID := d.cfn.onlyID(t, "AWS::SES::ConfigurationSet")
		holds(t, "configuration set", func() {
			d.template.HasResourceProperties(jsii.String("AWS::SES::ConfigurationSet"), map[string]any{
				"Name":              d.props.physicalName(),
				"ReputationOptions": map[string]any{"ReputationMetricsEnabled": true},
			})
		})
		holds(t, "the identity's default", func() {
			d.template.HasResourceProperties(jsii.String("AWS::SES::EmailIdentity"), map[string]any{
				"ConfigurationSetAttributes": map[string]any{"ConfigurationSetName": map[string]any{"Ref": configSetID}},
			})
		})
		topicID := d.cfn.mailEventsTopic(t)
		holds(t, "event destination", func() {
			d.template.HasResourceProperties(jsii.String("AWS::SES::ConfigurationSetEventDestination"), map[string]any{
				"ConfigurationSetName": map[string]any{"Ref": configSetID},
				"EventDestination": assertions.Match_ObjectLike(&map[string]any{
					"Enabled":            true,
					"MatchingEventTypes": []any{"bounce", "complaint", "deliveryDelay", "reject"},
					"SnsDestination":     map[string]any{"TopicARN": map[string]any{"Ref": topicID}},
				}),
			})
		})
	})
}

// mailEventsTopic is the id of the topic the configuration set's event
// destination publishes to.
func (c cfnTemplate) mailEventsTopic(t *testing.T) string {
	t.Helper()
	dest := c.onlyID(t, "AWS::SES::ConfigurationSetEventDestination")
	refs := refsIn(c.Resources[dest].Properties["EventDestination"])
	if len(refs) != 1 || c.Resources[refs[0]].Type != "AWS::SNS::Topic" {
		t.Fatalf("event destination refers to %v, want one SNS topic", refs)
	}
	return refs[0]
}

// GIVEN the mail events topic THEN ses-events is subscribed to it, with a
// queue for what SNS cannot deliver; its failed invocations go, after
// Lambda's retries, to that queue; the queue alarms; and the function may
// only read and write the table (no SES, no Scan, no delete).
func TestSESEventsIsSubscribedAndItsFailuresAlarm(t *testing.T) {
	both(t, func(t *testing.T, d *deployment) {
		topicID := d.cfn.mailEventsTopic(t)
		fnID, ok := d.cfn.functionID(routes.MailEventConsumers[0])
		if !ok {
			t.Fatal("no Lambda for functions/ses-events")
		}
		subs := d.cfn.find("AWS::SNS::Subscription", func(p map[string]any) bool {
			return p["Protocol"] == "lambda" && slices.Equal(refsIn(p["TopicArn"]), []string{topicID})
		})
		if len(subs) != 1 {
			t.Fatalf("%d lambda subscriptions to the mail events topic, want 1", len(subs))
		}
		sub := d.cfn.Resources[subs[0]].Properties
		if refs := refsIn(sub["Endpoint"]); !slices.Equal(refs, []string{fnID}) {
			t.Errorf("subscription endpoint %v, want ses-events", refs)
		}
		redrive, _ := sub["RedrivePolicy"].(map[string]any)
		queue := refsIn(redrive["deadLetterTargetArn"])
		if len(queue) != 1 || d.cfn.Resources[queue[0]].Type != "AWS::SQS::Queue" {
			t.Fatalf("subscription redrive %v, want a queue", sub["RedrivePolicy"])
		}
		holds(t, "on-failure destination", func() {
			d.template.HasResourceProperties(jsii.String("AWS::Lambda::EventInvokeConfig"), map[string]any{
				"FunctionName":         map[string]any{"Ref": fnID},
				"MaximumRetryAttempts": jobRetryAttempts,
				"DestinationConfig": map[string]any{"OnFailure": map[string]any{
					"Destination": map[string]any{"Fn::GetAtt": []any{queue[0], "Arn"}},
				}},
			})
		})
		holds(t, "alarm", func() {
			d.template.HasResourceProperties(jsii.String("AWS::CloudWatch::Alarm"), map[string]any{
				"Namespace": "AWS/SQS", "MetricName": "ApproximateNumberOfMessagesVisible",
				"Dimensions":   []any{map[string]any{"Name": "QueueName", "Value": map[string]any{"Fn::GetAtt": []any{queue[0], "QueueName"}}}},
				"AlarmActions": assertions.Match_AnyValue(), "OKActions": assertions.Match_AnyValue(),
			})
		})
		var tableActions []string
		for _, st := range d.cfn.statementsOf(t, routes.MailEventConsumers[0]) {
			for _, a := range st.actions() {
				if strings.HasPrefix(a, "ses:") {
					t.Errorf("ses-events may %s", a)
				}
				if strings.HasPrefix(a, "dynamodb:") {
					tableActions = append(tableActions, a)
				}
			}
		}
		slices.Sort(tableActions)
		tableActions = slices.Compact(tableActions)
		if want := []string{actGetItem, actPutItem, actQuery, actUpdateItem}; !slices.Equal(tableActions, want) {
			t.Errorf("ses-events table actions %v, want %v", tableActions, want)
		}
	})
}

// GIVEN a function that sends mail THEN it knows the configuration set,
// the sender's display name and the Reply-To rule; a function that sends
// none knows none of them.
func TestMailSendersKnowTheConfigurationSetAndSenderName(t *testing.T) {
	both(t, func(t *testing.T, d *deployment) {
		configSetID := d.cfn.onlyID(t, "AWS::SES::ConfigurationSet")
		for _, name := range d.props.functions() {
			id, _ := d.cfn.functionID(name)
			env, _ := d.cfn.Resources[id].Properties["Environment"].(map[string]any)
			vars, _ := env["Variables"].(map[string]any)
			if !SendsMail(name) {
				for _, key := range []string{envConfigurationSet, envSenderName, envReplyToInviter} {
					if _, ok := vars[key]; ok {
						t.Errorf("functions/%s, which sends no mail, has %s", name, key)
					}
				}
				continue
			}
			if got := mustJSON(t, vars[envConfigurationSet]); got != fmt.Sprintf(`{"Ref":%q}`, configSetID) {
				t.Errorf("functions/%s %s = %s, want the configuration set", name, envConfigurationSet, got)
			}
			if got, want := vars[envReplyToInviter], fmt.Sprint(d.props.ReplyToInviter); got != want {
				t.Errorf("functions/%s %s = %v, want %s", name, envReplyToInviter, got, want)
			}
			if got, set := vars[envSenderName]; set != (d.props.SenderName != "") || (set && got != d.props.SenderName) {
				t.Errorf("functions/%s %s = %v, want %q", name, envSenderName, got, d.props.SenderName)
			}
		}
	})
}

// GIVEN a domain identity THEN its three DKIM records are outputs, names
// and values; an address identity has none.
func TestDKIMRecordsAreOutputs(t *testing.T) {
	d := deployedTomorrow(t)
	identityID := d.cfn.onlyID(t, "AWS::SES::EmailIdentity")
	for i := 1; i <= 3; i++ {
		for part, attr := range map[string]string{"Name": "DkimDNSTokenName", "Value": "DkimDNSTokenValue"} {
			holds(t, fmt.Sprintf("DkimRecord%d%s", i, part), func() {
				d.template.HasOutput(jsii.String(fmt.Sprintf("DkimRecord%d%s", i, part)), map[string]any{
					"Value": map[string]any{"Fn::GetAtt": []any{identityID, fmt.Sprintf("%s%d", attr, i)}},
				})
			})
		}
	}
	if out := deployedToday(t).template.FindOutputs(jsii.String("DkimRecord1Name"), nil); len(*out) != 0 {
		t.Errorf("an address identity has DKIM outputs: %v", *out)
	}
}

// GIVEN a deployment THEN the account's SES bounce and complaint rates
// alarm before SES reviews the account, and say so again when OK.
func TestBounceAndComplaintRatesAlarm(t *testing.T) {
	both(t, func(t *testing.T, d *deployment) {
		for metric, threshold := range map[string]float64{"Reputation.BounceRate": bounceRateAlarm, "Reputation.ComplaintRate": complaintRateAlarm} {
			holds(t, metric, func() {
				d.template.HasResourceProperties(jsii.String("AWS::CloudWatch::Alarm"), map[string]any{
					"Namespace": "AWS/SES", "MetricName": metric, "Threshold": threshold,
					"ComparisonOperator": "GreaterThanOrEqualToThreshold",
					"AlarmActions":       assertions.Match_AnyValue(), "OKActions": assertions.Match_AnyValue(),
				})
			})
		}
	})
}
