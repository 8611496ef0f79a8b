package stack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"reflect"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	kmsconfig "github.com/nsmithuk/local-kms/src/config"
	kmsdata "github.com/nsmithuk/local-kms/src/data"
	kmshandler "github.com/nsmithuk/local-kms/src/handler"
	"github.com/sirupsen/logrus"
)

// TwoFactorKeyAlias is the alias of the key that seals second-factor
// secrets, locally (the CDK stack creates its own key in AWS).
const TwoFactorKeyAlias = "alias/accountadmin-two-factor"

// localKMS runs local-kms (a KMS emulator written in Go) in this process:
// its request handlers over its own LevelDB store, on a loopback port.
type localKMS struct {
	srv *http.Server
	db  *kmsdata.Database
}

func startKMS(dir string, port int, log io.Writer) (*localKMS, string, error) {
	kmsconfig.AWSRegion, kmsconfig.AWSAccountId = "us-east-1", "111122223333"
	kmsconfig.DatabasePath = dir
	db := kmsdata.NewDatabase(dir)
	logger := logrus.New()
	logger.SetOutput(log)
	mux := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The dispatch of local-kms's own server: X-Amz-Target names the
		// handler method ("TrentService.GenerateDataKey").
		target := strings.Split(r.Header.Get("X-Amz-Target"), ".")
		if r.Method != http.MethodPost || len(target) < 2 {
			http.Error(w, "not a KMS request", http.StatusBadRequest)
			return
		}
		method := reflect.ValueOf(kmshandler.NewRequestHandler(r, logger, db)).MethodByName(target[1])
		if !method.IsValid() {
			http.Error(w, "not implemented: "+target[1], http.StatusNotImplemented)
			return
		}
		resp, _ := method.Call(nil)[0].Interface().(kmshandler.Response)
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.WriteHeader(resp.Code)
		_, _ = io.WriteString(w, resp.Body)
	})
	ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		db.Close()
		return nil, "", fmt.Errorf("local kms: %w", err)
	}
	k := &localKMS{srv: &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}, db: db}
	go func() { _ = k.srv.Serve(ln) }()
	return k, "http://" + ln.Addr().String(), nil
}

func (k *localKMS) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = k.srv.Shutdown(ctx)
	k.db.Close()
}

// EnsureTwoFactorKey creates the key behind TwoFactorKeyAlias on the
// emulator at endpoint unless it exists (make dev keeps it between runs).
func EnsureTwoFactorKey(ctx context.Context, endpoint string) error {
	client := kms.New(kms.Options{Region: "us-east-1", BaseEndpoint: aws.String(endpoint),
		Credentials: credentials.NewStaticCredentialsProvider("local", "local", "")})
	_, err := client.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(TwoFactorKeyAlias)})
	var missing *types.NotFoundException
	if err == nil || !errors.As(err, &missing) {
		return err
	}
	key, err := client.CreateKey(ctx, &kms.CreateKeyInput{Description: aws.String("second-factor secrets (local)")})
	if err != nil {
		return fmt.Errorf("create kms key: %w", err)
	}
	_, err = client.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String(TwoFactorKeyAlias), TargetKeyId: key.KeyMetadata.KeyId})
	return err
}

func kmsDir(dataDir string) (string, func(), error) {
	if dataDir != "" {
		dir := dataDir + "-kms"
		return dir, func() {}, os.MkdirAll(dir, 0o755)
	}
	dir, err := os.MkdirTemp("", "local-kms-")
	return dir, func() { _ = os.RemoveAll(dir) }, err
}
