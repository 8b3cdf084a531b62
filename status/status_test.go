package status

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"
)

func TestHeader(t *testing.T) {
	tests := []struct {
		name         string
		err          error
		want         string
		wantInternal bool
	}{
		{
			name: "sgp22 error",
			err:  New(SubjectTransactionID, ReasonUnknown, "transactionId is unknown"),
			want: `{"functionExecutionStatus":{"status":"Failed","statusCodeData":{"subjectCode":"8.10.1","reasonCode":"3.9","message":"transactionId is unknown"}}}`,
		},
		{
			name: "wrapped twice keeps codes",
			err:  fmt.Errorf("authenticateClient: %w", Wrap(SubjectMatchingID, ReasonRefused, "matchingId refused", errors.New("row not found"))),
			want: `{"functionExecutionStatus":{"status":"Failed","statusCodeData":{"subjectCode":"8.2.6","reasonCode":"3.8","message":"matchingId refused"}}}`,
		},
		{
			name: "expired status",
			err:  &Error{Subject: SubjectDownloadOrder, Reason: ReasonTTLExpired, Message: "order expired", Status: Expired},
			want: `{"functionExecutionStatus":{"status":"Expired","statusCodeData":{"subjectCode":"8.8.5","reasonCode":"4.10","message":"order expired"}}}`,
		},
		{
			name:         "plain error hides detail",
			err:          errors.New("pq: connection refused to 10.1.2.3"),
			want:         `{"functionExecutionStatus":{"status":"Failed","statusCodeData":{"subjectCode":"1.6","reasonCode":"4.2","message":"internal error"}}}`,
			wantInternal: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, internal := Header(tt.err)
			got, err := json.Marshal(h)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want || internal != tt.wantInternal {
				t.Errorf("Header() = %s, internal %v; want %s, %v", got, internal, tt.want, tt.wantInternal)
			}
		})
	}
}

func TestIsMatchesCodes(t *testing.T) {
	err := fmt.Errorf("x: %w", New(SubjectEUICC, ReasonVerificationFailed, "bad signature"))
	if !errors.Is(err, New(SubjectEUICC, ReasonVerificationFailed, "")) {
		t.Error("errors.Is does not match the same codes")
	}
	if errors.Is(err, New(SubjectEUICC, ReasonExpired, "")) {
		t.Error("errors.Is matches a different reason")
	}
}
