package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"time"
)

// floorServer is the HTTP floor of the create scenario: a bare net/http
// server on 127.0.0.1 that does what tender's create does on the wire and
// nothing else. It checks the key header, reads and decodes the JSON body,
// and answers 201 with a JSON document shaped and sized like tender's
// answer (sample, one real create response), encoded afresh each time. No
// store, no idempotency, no events: driven by the same load generator in
// the same process, it shows how many requests per second this machine
// can serve at all before tender does any payment work.
type floorServer struct {
	srv *http.Server
	url string
}

func startFloorServer(sample []byte) (*floorServer, error) {
	var doc map[string]any
	if err := json.Unmarshal(sample, &doc); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Api-Key") == "" || r.Header.Get("X-Idempotency-Key") == "" {
			http.Error(w, `{"type":"authentication_error"}`, http.StatusUnauthorized)
			return
		}
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			http.Error(w, `{"type":"invalid_request_error"}`, http.StatusBadRequest)
			return
		}
		var req struct {
			Amount      int64  `json:"amount"`
			Currency    string `json:"currency"`
			Description string `json:"description"`
		}
		if err := json.Unmarshal(body, &req); err != nil || req.Amount <= 0 {
			http.Error(w, `{"type":"invalid_request_error"}`, http.StatusBadRequest)
			return
		}
		out, err := json.Marshal(doc)
		if err != nil {
			http.Error(w, `{"type":"api_error"}`, http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		w.Write(out)
	})
	f := &floorServer{srv: &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}, url: "http://" + ln.Addr().String()}
	go func() {
		if err := f.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			panic(err)
		}
	}()
	return f, nil
}

func (f *floorServer) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = f.srv.Shutdown(ctx)
}
