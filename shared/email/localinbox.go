package email

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// LocalInbox reads the emails that SES local (aws-ses-v2-local, the local
// stack's SES) received, from its GET /store. Tests read invitation emails
// back with it; it has no use against real SES.
type LocalInbox struct {
	Endpoint string // AWS_ENDPOINT_URL_SES
	HTTP     *http.Client
}

// StoredEmail is one email as SES local keeps it.
type StoredEmail struct {
	MessageID   string   `json:"messageId"`
	From        string   `json:"from"`
	ReplyTo     []string `json:"replyTo"`
	Destination struct {
		To []string `json:"to"`
	} `json:"destination"`
	Subject string `json:"subject"`
	Body    struct {
		Text string `json:"text"`
		HTML string `json:"html"`
	} `json:"body"`
	At int64 `json:"at"`
}

// To returns the stored emails sent to address, oldest first.
func (b LocalInbox) To(ctx context.Context, address string) ([]StoredEmail, error) {
	client := b.HTTP
	if client == nil {
		client = http.DefaultClient
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(b.Endpoint, "/")+"/store", nil)
	if err != nil {
		return nil, fmt.Errorf("read local inbox: %w", err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("read local inbox: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("read local inbox: status %d", resp.StatusCode)
	}
	var store struct {
		Emails []StoredEmail `json:"emails"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&store); err != nil {
		return nil, fmt.Errorf("decode local inbox: %w", err)
	}
	var out []StoredEmail
	for _, e := range store.Emails {
		for _, to := range e.Destination.To {
			if strings.EqualFold(to, address) {
				out = append(out, e)
				break
			}
		}
	}
	return out, nil
}
