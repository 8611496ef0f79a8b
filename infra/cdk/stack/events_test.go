package stack

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"

	"github.com/acme/accountadmin/shared/domainevents"
	"github.com/acme/accountadmin/shared/routes"
)

// streamReads are the actions an event source mapping needs on a stream.
var streamReads = map[string]bool{
	"dynamodb:DescribeStream": true, "dynamodb:GetRecords": true,
	"dynamodb:GetShardIterator": true, "dynamodb:ListStreams": true,
}

func TestDomainEventsFromTheStream(t *testing.T) {
	both(t, func(t *testing.T, d *deployment) {
		tableID := d.cfn.onlyID(t, "AWS::DynamoDB::Table")
		fnID, ok := d.cfn.functionID(routes.PublishEvents)
		if !ok {
			t.Fatal("no Lambda for functions/publish-events")
		}
		// THEN the stack has one custom event bus
		busID := d.cfn.onlyID(t, "AWS::Events::EventBus")
		// AND the table streams new images
		holds(t, "table stream", func() {
			d.template.HasResourceProperties(jsii.String("AWS::DynamoDB::Table"), map[string]any{
				"StreamSpecification": map[string]any{"StreamViewType": "NEW_IMAGE"},
			})
		})
		// AND publish-events puts on that bus, named in its environment
		holds(t, "bus in the environment", func() {
			d.template.HasResourceProperties(jsii.String("AWS::Lambda::Function"), map[string]any{
				"Description": functionDescription(routes.PublishEvents),
				"Environment": map[string]any{"Variables": map[string]any{
					domainevents.EnvBusName: map[string]any{"Ref": busID},
				}},
			})
		})
		// AND it is fed by one event source mapping on the table's stream,
		// filtered to new change-log entries, reporting partial failures,
		// bisecting, retrying a bounded number of times into a queue
		mappings := d.cfn.find("AWS::Lambda::EventSourceMapping", func(map[string]any) bool { return true })
		if len(mappings) != 1 {
			t.Fatalf("%d event source mappings, want 1", len(mappings))
		}
		m := d.cfn.Resources[mappings[0]].Properties
		if refs := refsIn(m["FunctionName"]); !slices.Equal(refs, []string{fnID}) {
			t.Errorf("mapping feeds %v, want publish-events", refs)
		}
		if refs := refsIn(m["EventSourceArn"]); !slices.Equal(refs, []string{tableID}) ||
			!strings.Contains(mustJSON(t, m["EventSourceArn"]), "StreamArn") {
			t.Errorf("mapping reads %v, want the table's stream", m["EventSourceArn"])
		}
		if fr := asList(m["FunctionResponseTypes"]); len(fr) != 1 || fr[0] != "ReportBatchItemFailures" {
			t.Errorf("FunctionResponseTypes = %v, want ReportBatchItemFailures", fr)
		}
		if m["BisectBatchOnFunctionError"] != true {
			t.Errorf("BisectBatchOnFunctionError = %v", m["BisectBatchOnFunctionError"])
		}
		if r, ok := m["MaximumRetryAttempts"].(float64); !ok || r < 1 || r > 100 {
			t.Errorf("MaximumRetryAttempts = %v, want a bound", m["MaximumRetryAttempts"])
		}
		if m["StartingPosition"] != "TRIM_HORIZON" {
			t.Errorf("StartingPosition = %v", m["StartingPosition"])
		}
		var filter struct {
			Filters []struct{ Pattern string }
		}
		if err := json.Unmarshal([]byte(mustJSON(t, m["FilterCriteria"])), &filter); err != nil || len(filter.Filters) != 1 {
			t.Fatalf("FilterCriteria = %v (%v)", m["FilterCriteria"], err)
		}
		var pattern, want any
		_ = json.Unmarshal([]byte(filter.Filters[0].Pattern), &pattern)
		_ = json.Unmarshal([]byte(`{"eventName":["INSERT"],"dynamodb":{"NewImage":{"type":{"S":["CHANGE","TENANT_CHANGE"]}}}}`), &want)
		if mustJSON(t, pattern) != mustJSON(t, want) {
			t.Errorf("filter pattern = %s, want %s", filter.Filters[0].Pattern, mustJSON(t, want))
		}
		dest, _ := m["DestinationConfig"].(map[string]any)
		onFailure, _ := dest["OnFailure"].(map[string]any)
		dlqRefs := refsIn(onFailure["Destination"])
		if len(dlqRefs) != 1 || d.cfn.Resources[dlqRefs[0]].Type != "AWS::SQS::Queue" {
			t.Fatalf("on-failure destination = %v, want an SQS queue", onFailure)
		}
		// AND an alarm watches that queue
		alarms := d.cfn.find("AWS::CloudWatch::Alarm", func(p map[string]any) bool {
			return p["MetricName"] == "ApproximateNumberOfMessagesVisible" && slices.Contains(refsIn(p["Dimensions"]), dlqRefs[0])
		})
		if len(alarms) != 1 || asList(d.cfn.Resources[alarms[0]].Properties["AlarmActions"]) == nil {
			t.Errorf("alarms on the events dead-letter queue = %v, want one with an action", alarms)
		}
		// AND the function may put events on that bus only, read the stream
		// only, and touch nothing else of the table
		puts := 0
		for _, st := range d.cfn.statementsOf(t, routes.PublishEvents) {
			for _, a := range st.actions() {
				switch {
				case strings.HasPrefix(a, "events:"):
					puts++
					if a != "events:PutEvents" || !slices.Equal(refsIn(st.Resource), []string{busID}) {
						t.Errorf("publish-events: %s on %v, want only events:PutEvents on the bus", a, st.Resource)
					}
				case strings.HasPrefix(a, "dynamodb:"):
					if !streamReads[a] {
						t.Errorf("publish-events is granted %s", a)
					}
					if a != "dynamodb:ListStreams" && !strings.Contains(mustJSON(t, st.Resource), "StreamArn") {
						t.Errorf("publish-events: %s on %v, want the stream only", a, st.Resource)
					}
				case strings.HasPrefix(a, "logs:"), strings.HasPrefix(a, "xray:"):
					// every function's own log group and traces: TestFunctionsAreTracedAndLogOnlyToTheirOwnGroup
				case strings.HasPrefix(a, "sqs:"):
					if !slices.Equal(refsIn(st.Resource), dlqRefs) {
						t.Errorf("publish-events: %s on %v, want only its dead-letter queue", a, st.Resource)
					}
				default:
					t.Errorf("publish-events is granted %s", a)
				}
			}
		}
		if puts == 0 {
			t.Error("publish-events may not put events")
		}
		// AND no other function may put events or read the stream
		for _, name := range d.props.functions() {
			if name == routes.PublishEvents {
				continue
			}
			for _, st := range d.cfn.statementsOf(t, name) {
				for _, a := range st.actions() {
					if strings.HasPrefix(a, "events:") || streamReads[a] {
						t.Errorf("functions/%s is granted %s", name, a)
					}
				}
			}
		}
		holds(t, "bus outputs", func() {
			d.template.HasOutput(jsii.String("EventBusName"), map[string]any{"Value": map[string]any{"Ref": busID}})
			d.template.HasOutput(jsii.String("EventBusArn"), assertions.Match_AnyValue())
		})
	})
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(raw)
}
