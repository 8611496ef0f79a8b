package stack

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatchactions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambdaeventsources"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/jsii-runtime-go"

	"github.com/acme/accountadmin/shared/domainevents"
	"github.com/acme/accountadmin/shared/routes"
)

// Delivery of domain events: how the stream's event source mapping feeds
// publish-events. A batch whose records keep failing is bisected, retried
// a bounded number of times and within a day, then described in the
// dead-letter queue (the records themselves stay in the stream for 24
// hours), which raises an alarm.
const (
	eventsBatchSize     = 100
	eventsRetryAttempts = 10
	eventsMaxRecordAge  = 24 // hours: the stream's own retention
	streamTimeout       = 60 // seconds: one batch of 100 records, PutEvents retries included
)

// buildDomainEvents promises the service's custom event bus, and the
// publish-events function on the table's stream: new change-log entries
// only (the mapping's filter is domainevents.ChangeLogInserts, the one the
// local stack applies), partial batch failures reported, bisect on error,
// bounded retries, an SQS dead-letter queue with an alarm on it, and
// events:PutEvents on that bus only. It returns the alarm on what could not
// be published, or none when the deployment has no publish-events function.
func buildDomainEvents(s awscdk.Stack, p *StackProps, tbl awsdynamodb.Table, fns functionSet, alarms awssns.Topic) []awscloudwatch.Alarm {
	fn, ok := fns.byName[routes.PublishEvents]
	if !ok {
		return nil
	}
	bus := awsevents.NewEventBus(s, jsii.String("EventBus"), &awsevents.EventBusProps{
		EventBusName: jsii.String(p.physicalName()),
		Description:  jsii.String("accountadmin domain events: one per change-log entry"),
	})
	bus.GrantPutEventsTo(fn, nil)
	fn.AddEnvironment(jsii.String(domainevents.EnvBusName), bus.EventBusName(), nil)

	deadLetters := awssqs.NewQueue(s, jsii.String("EventsDeadLetters"), &awssqs.QueueProps{
		Encryption:      awssqs.QueueEncryption_SQS_MANAGED,
		EnforceSSL:      jsii.Bool(true),
		RetentionPeriod: awscdk.Duration_Days(jsii.Number(14)),
	})
	suppress(deadLetters, false, failureQueueRules("the events dead-letter queue")...)
	pattern := domainevents.ChangeLogInserts.Pattern()
	fn.AddEventSource(awslambdaeventsources.NewDynamoEventSource(tbl, &awslambdaeventsources.DynamoEventSourceProps{
		StartingPosition:        awslambda.StartingPosition_TRIM_HORIZON,
		BatchSize:               jsii.Number(eventsBatchSize),
		BisectBatchOnError:      jsii.Bool(true),
		ReportBatchItemFailures: jsii.Bool(true),
		RetryAttempts:           jsii.Number(eventsRetryAttempts),
		MaxRecordAge:            awscdk.Duration_Hours(jsii.Number(eventsMaxRecordAge)),
		ParallelizationFactor:   jsii.Number(1),
		OnFailure:               awslambdaeventsources.NewSqsDlq(deadLetters),
		Filters:                 &[]*map[string]any{awslambda.FilterCriteria_Filter(&pattern)},
	}))

	dlqAlarm := alarmOnMessages(s, deadLetters, "EventsDeadLettersAlarm", alarms,
		"change-log records were not published as events after their retries: see the events dead-letter queue")

	awscdk.NewCfnOutput(s, jsii.String("EventBusName"), &awscdk.CfnOutputProps{
		Value: bus.EventBusName(), Description: jsii.String("the bus of the service's domain events: add rules here"),
	})
	awscdk.NewCfnOutput(s, jsii.String("EventBusArn"), &awscdk.CfnOutputProps{
		Value: bus.EventBusArn(), Description: jsii.String("the ARN of the domain events' bus"),
	})
	return []awscloudwatch.Alarm{dlqAlarm}
}

// alarmOnMessages alarms (and says when it is OK again) as soon as queue,
// a queue of what failed after its retries, holds a message.
func alarmOnMessages(s awscdk.Stack, queue awssqs.Queue, id string, alarms awssns.Topic, description string) awscloudwatch.Alarm {
	alarm := queue.MetricApproximateNumberOfMessagesVisible(&awscloudwatch.MetricOptions{
		Period: awscdk.Duration_Minutes(jsii.Number(5)), Statistic: jsii.String("Maximum"),
	}).CreateAlarm(s, jsii.String(id), &awscloudwatch.CreateAlarmOptions{
		AlarmDescription:   jsii.String(description),
		Threshold:          jsii.Number(1),
		EvaluationPeriods:  jsii.Number(1),
		ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
		TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
	})
	notify := awscloudwatchactions.NewSnsAction(alarms)
	alarm.AddAlarmAction(notify)
	alarm.AddOkAction(notify)
	return alarm
}
