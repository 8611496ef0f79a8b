// Command consume is a small example of a product's event consumer: it
// receives the service's domain events as an EventBridge rule's target
// receives them (locally: the webhook of `make dev`), skips the ones it has
// seen (delivery is at least once: de-duplicate on detail.id) and acts on
// the detail-types it cares about.
//
//	go run ./events/consume -listen 127.0.0.1:4020
//	make dev EVENTS_WEBHOOK=http://127.0.0.1:4020/
package main

import (
	"encoding/json"
	"flag"
	"log"
	"net/http"
	"sync"
)

// Event is the envelope of every event; Detail is the change-log entry.
type Event struct {
	ID         string `json:"id"`
	DetailType string `json:"detail-type"`
	Source     string `json:"source"`
	Detail     struct {
		ID        string `json:"id"` // stable and time ordered: the de-duplication key
		Tenant    string `json:"tenant"`
		AccountID string `json:"accountId"`
		Log       string `json:"log"`
		Actor     struct {
			Kind string `json:"kind"`
			ID   string `json:"id"`
		} `json:"actor"`
		Subject struct {
			Type string `json:"type"`
			ID   string `json:"id"`
		} `json:"subject"`
		Before map[string]any `json:"before"`
		After  map[string]any `json:"after"`
	} `json:"detail"`
}

func main() {
	listen := flag.String("listen", "127.0.0.1:4020", "address to receive events on")
	flag.Parse()
	var mu sync.Mutex
	seen := map[string]bool{} // a real consumer keeps this in its own store, with a TTL
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		var ev Event
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&ev); err != nil || ev.Source != "accountadmin" {
			http.Error(w, "not an accountadmin event", http.StatusBadRequest)
			return
		}
		mu.Lock()
		dup := seen[ev.Detail.ID]
		seen[ev.Detail.ID] = true
		mu.Unlock()
		if dup {
			return // put twice (a retried batch): already handled
		}
		d := ev.Detail
		switch ev.DetailType {
		case "user.deleted":
			log.Printf("tenant %s: forget user %s", d.Tenant, d.Subject.ID)
		case "membership.removed":
			log.Printf("tenant %s: user %s no longer in account %s", d.Tenant, d.Subject.ID, d.AccountID)
		case "account.closed":
			if d.Log == "account" { // also in the tenant's log: act once
				log.Printf("tenant %s: account %s closed", d.Tenant, d.Subject.ID)
			}
		default:
			log.Printf("tenant %s: %s on %s %s by %s %s", d.Tenant, ev.DetailType, d.Subject.Type, d.Subject.ID, d.Actor.Kind, d.Actor.ID)
		}
	})
	log.Printf("receiving accountadmin events on http://%s/", *listen)
	log.Fatal(http.ListenAndServe(*listen, nil))
}
