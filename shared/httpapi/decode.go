package httpapi

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/acme/accountadmin/shared/apperr"
)

// MaxBody is the default bound on a JSON request body.
const MaxBody = 64 << 10

// TooLarge is the 413 of a body larger than max bytes.
func TooLarge(max int) *apperr.Error {
	return apperr.ErrBodyTooLarge.Withf("the request body is larger than %d bytes", max)
}

// Body returns the raw request body, decoding API Gateway's base64 flag and
// enforcing max bytes (413 beyond).
func Body(req Request, max int) ([]byte, error) {
	raw := req.Body
	if req.IsBase64Encoded {
		if base64.StdEncoding.DecodedLen(len(raw)) > max+3 {
			return nil, TooLarge(max)
		}
		b, err := base64.StdEncoding.DecodeString(raw)
		if err != nil {
			return nil, apperr.Invalid("bad_base64_body", "the request body is not valid base64")
		}
		raw = string(b)
	}
	if len(raw) > max {
		return nil, TooLarge(max)
	}
	return []byte(raw), nil
}

// Decode reads a JSON body strictly into dst: bounded size (413), valid JSON
// (400), no unknown fields and the right types (422), one value only.
func Decode(req Request, dst any) error { return DecodeMax(req, dst, MaxBody) }

// DecodeMax is Decode with an explicit size bound.
func DecodeMax(req Request, dst any, max int) error {
	if ct := Header(req, "Content-Type"); ct != "" && !strings.HasPrefix(strings.ToLower(strings.TrimSpace(ct)), "application/json") {
		return apperr.New(apperr.KindUnprocessable, "unsupported_content_type", "send the body as application/json")
	}
	body, err := Body(req, max)
	if err != nil {
		return err
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return apperr.Invalid("empty_body", "the request needs a JSON body")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return decodeError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return apperr.ErrMalformedJSON.Withf("the request body must hold exactly one JSON value")
	}
	return nil
}

func decodeError(err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return apperr.ErrMalformedJSON
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			field = "(body)"
		}
		return apperr.Validation(apperr.FieldError{Field: field, Code: "wrong_type",
			Detail: fmt.Sprintf("%s must be %s", field, jsonKind(typ.Type.Kind().String()))})
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return apperr.Validation(apperr.FieldError{Field: name, Code: "unknown_field", Detail: "this field is not part of the request"})
	default:
		return apperr.ErrMalformedJSON
	}
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "a string"
	case "bool":
		return "true or false"
	case "slice", "array":
		return "an array"
	case "map", "struct":
		return "an object"
	default:
		return "a number"
	}
}
