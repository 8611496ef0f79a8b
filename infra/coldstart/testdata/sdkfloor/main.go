// Command sdkfloor is the second baseline of the cold-start benchmark: the
// hello-world function plus only the AWS SDK work every one of our functions
// does before it is ready, done the way shared/app does it (an aws.Config
// from the Lambda environment, the DynamoDB client built, the attributevalue
// and expression packages linked). What a function costs above this floor is
// ours, except in invite and edit, which also build the SES client
// (shared/sesmail); what this costs above hello is the SDK's.
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
)

func main() {
	cfg := aws.Config{Region: os.Getenv("AWS_REGION"), Credentials: aws.NewCredentialsCache(credentials.NewStaticCredentialsProvider(
		os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY"), os.Getenv("AWS_SESSION_TOKEN")))}
	db := dynamodb.NewFromConfig(cfg)
	lambda.Start(func(ctx context.Context, in map[string]any) (string, error) {
		// Keep the client's operations linked, as a real handler does.
		_, err := db.DescribeEndpoints(ctx, nil)
		return "floor", err
	})
}
