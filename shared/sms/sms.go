// Package sms sends text messages with Amazon SNS Publish to a phone
// number (no topic). Locally AWS_ENDPOINT_URL_SNS points the same SDK call
// at the local SMS outbox of the local stack.
package sms

import (
	"context"
	"fmt"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sns/types"
)

// Environment of the sender.
const (
	EnvEndpoint = "AWS_ENDPOINT_URL_SNS"
	EnvSenderID = "SMS_SENDER_ID" // optional: the alphanumeric sender id, where the destination country allows one
	EnvEnabled  = "SMS_ENABLED"   // "true" where the function may send SMS
)

// Publisher is the part of the SNS client the sender uses.
type Publisher interface {
	Publish(ctx context.Context, in *sns.PublishInput, opts ...func(*sns.Options)) (*sns.PublishOutput, error)
}

// Sender sends one transactional text message at a time.
type Sender struct {
	SNS      Publisher
	SenderID string
}

// FromEnv builds the sender, or nil where SMS is not enabled.
func FromEnv(cfg aws.Config) *Sender {
	if os.Getenv(EnvEnabled) != "true" && os.Getenv(EnvEndpoint) == "" {
		return nil
	}
	client := sns.NewFromConfig(cfg, func(o *sns.Options) {
		if ep := os.Getenv(EnvEndpoint); ep != "" {
			o.BaseEndpoint = aws.String(ep)
		}
	})
	return &Sender{SNS: client, SenderID: os.Getenv(EnvSenderID)}
}

// Send texts message to phone (E.164).
func (s *Sender) Send(ctx context.Context, phone, message string) error {
	attrs := map[string]types.MessageAttributeValue{
		"AWS.SNS.SMS.SMSType": {DataType: aws.String("String"), StringValue: aws.String("Transactional")},
	}
	if s.SenderID != "" {
		attrs["AWS.SNS.SMS.SenderID"] = types.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(s.SenderID)}
	}
	if _, err := s.SNS.Publish(ctx, &sns.PublishInput{PhoneNumber: aws.String(phone), Message: aws.String(message), MessageAttributes: attrs}); err != nil {
		return fmt.Errorf("send sms: %w", err)
	}
	return nil
}
