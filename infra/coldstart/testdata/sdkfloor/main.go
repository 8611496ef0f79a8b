// Command sdkfloor is the second baseline of the cold-start benchmark: the
// hello-world function plus only the AWS SDK work every one of our functions
// does before it is ready, done the way shared/app does it (an aws.Config
// from the Lambda environment, the DynamoDB and SES clients built, the
// attributevalue and expression packages linked). What a function costs
// above this floor is ours; what this costs above hello is the SDK's.
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	_ "github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	_ "github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/ses"
)

func main() {
	cfg := aws.Config{Region: os.Getenv("AWS_REGION"), Credentials: aws.NewCredentialsCache(credentials.NewStaticCredentialsProvider(
		os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY"), os.Getenv("AWS_SESSION_TOKEN")))}
	db, mail := dynamodb.NewFromConfig(cfg), ses.NewFromConfig(cfg)
	lambda.Start(func(ctx context.Context, in map[string]any) (string, error) {
		// Keep the clients' operations linked, as a real handler does.
		_, err := db.DescribeEndpoints(ctx, nil)
		_, _ = mail.GetSendQuota(ctx, nil)
		return "floor", err
	})
}
