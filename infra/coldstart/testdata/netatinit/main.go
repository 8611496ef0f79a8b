// Command netatinit is the control of the "no network call at init" test: it
// calls the network before it is ready, as a function that, say, read a
// DynamoDB item at init would. The test must catch it.
package main

import (
	"context"
	"net/http"

	"github.com/aws/aws-lambda-go/lambda"
)

func main() {
	if resp, err := http.Get("https://dynamodb.eu-west-1.amazonaws.com/"); err == nil {
		_ = resp.Body.Close()
	}
	lambda.Start(func(ctx context.Context, in map[string]any) (string, error) { return "hello", nil })
}
