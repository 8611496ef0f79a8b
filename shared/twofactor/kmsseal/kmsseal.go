// Package kmsseal is twofactor.Sealer with AWS KMS: only the function that
// enrols and verifies second factors links the KMS client (its package
// initialisation is a tenth of a cold start).
package kmsseal

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/acme/accountadmin/shared/twofactor"
)

// Secrets that must be read back (TOTP keys) are sealed by envelope
// encryption: KMS generates a fresh AES-256 data key for each secret
// (GenerateDataKey), the secret is encrypted here with it (AES-GCM), and
// only the data key as KMS encrypted it is kept beside the ciphertext.
// Opening asks KMS to decrypt the data key (Decrypt). Both calls carry an
// encryption context naming the tenant, the user and the purpose, and the
// same context is AES-GCM's additional data: a sealed secret copied to
// another user's item does not open. The key never leaves KMS, and the
// table holds nothing that opens without it.

// Environment of the sealer: the key (an id, ARN or alias the stack
// creates) and, locally, the KMS emulator's endpoint.
const (
	EnvKeyID       = "TWO_FACTOR_KEY_ID"
	EnvKMSEndpoint = "AWS_ENDPOINT_URL_KMS"
)

// KMS is the part of the KMS client the sealer uses.
type KMS interface {
	GenerateDataKey(ctx context.Context, in *kms.GenerateDataKeyInput, opts ...func(*kms.Options)) (*kms.GenerateDataKeyOutput, error)
	Decrypt(ctx context.Context, in *kms.DecryptInput, opts ...func(*kms.Options)) (*kms.DecryptOutput, error)
}

// Sealer seals and opens secrets under one KMS key.
type Sealer struct {
	KMS   KMS
	KeyID string
}

// FromEnv builds the sealer from the environment, or nil when no key is
// configured (two-factor enrolment then answers 503).
func FromEnv(cfg aws.Config) twofactor.Sealer {
	id := os.Getenv(EnvKeyID)
	if id == "" {
		return nil
	}
	client := kms.NewFromConfig(cfg, func(o *kms.Options) {
		if ep := os.Getenv(EnvKMSEndpoint); ep != "" {
			o.BaseEndpoint = aws.String(ep)
		}
	})
	return &Sealer{KMS: client, KeyID: id}
}

func encryptionContext(c twofactor.Context) map[string]string {
	return map[string]string{"tenant": c.Tenant, "user": c.User, "purpose": c.Purpose}
}

func aad(c twofactor.Context) []byte { return []byte(c.Tenant + "\x00" + c.User + "\x00" + c.Purpose) }

const sealVersion = "v1"

// Seal encrypts secret: "v1.<encrypted data key>.<nonce and ciphertext>".
func (s *Sealer) Seal(ctx context.Context, c twofactor.Context, secret []byte) (string, error) {
	out, err := s.KMS.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{KeyId: aws.String(s.KeyID), KeySpec: types.DataKeySpecAes256,
		EncryptionContext: encryptionContext(c)})
	if err != nil {
		return "", fmt.Errorf("generate data key: %w", err)
	}
	defer clear(out.Plaintext)
	gcm, err := newGCM(out.Plaintext)
	if err != nil {
		return "", err
	}
	nonce := make([]byte, gcm.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", err
	}
	sealed := gcm.Seal(nonce, nonce, secret, aad(c))
	enc := base64.RawStdEncoding
	return sealVersion + "." + enc.EncodeToString(out.CiphertextBlob) + "." + enc.EncodeToString(sealed), nil
}

// Open decrypts what Seal sealed for the same context.
func (s *Sealer) Open(ctx context.Context, c twofactor.Context, sealed string) ([]byte, error) {
	parts := strings.Split(sealed, ".")
	if len(parts) != 3 || parts[0] != sealVersion {
		return nil, errors.New("open secret: not a sealed secret")
	}
	enc := base64.RawStdEncoding
	blob, err1 := enc.DecodeString(parts[1])
	box, err2 := enc.DecodeString(parts[2])
	if err := errors.Join(err1, err2); err != nil {
		return nil, fmt.Errorf("open secret: %w", err)
	}
	out, err := s.KMS.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: blob, KeyId: aws.String(s.KeyID), EncryptionContext: encryptionContext(c)})
	if err != nil {
		return nil, fmt.Errorf("decrypt data key: %w", err)
	}
	defer clear(out.Plaintext)
	gcm, err := newGCM(out.Plaintext)
	if err != nil {
		return nil, err
	}
	if len(box) < gcm.NonceSize() {
		return nil, errors.New("open secret: too short")
	}
	plain, err := gcm.Open(nil, box[:gcm.NonceSize()], box[gcm.NonceSize():], aad(c))
	if err != nil {
		return nil, fmt.Errorf("open secret: %w", err)
	}
	return plain, nil
}

func newGCM(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("data key: %w", err)
	}
	return cipher.NewGCM(block)
}
