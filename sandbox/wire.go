package sandbox

import (
	"fmt"
	"time"

	cm "github.com/contactmerge/contactmerge"
)

// TimeLayout is how the platform writes datetimes, and so the sandbox: UTC
// with exactly three digits of milliseconds ("2025-07-24T18:53:06.060Z").
// encoding/json writes a time.Time in RFC 3339 with trailing zeros of the
// fraction dropped (".06Z", or no fraction at all), which the platform
// never does.
const TimeLayout = "2006-01-02T15:04:05.000Z"

// msTime is a time.Time written in TimeLayout.
type msTime time.Time

// IsZero makes omitzero leave out the zero time.
func (t msTime) IsZero() bool { return time.Time(t).IsZero() }

// MarshalText writes t in TimeLayout.
func (t msTime) MarshalText() ([]byte, error) {
	u := time.Time(t).UTC()
	if y := u.Year(); y < 0 || y > 9999 {
		return nil, fmt.Errorf("year %d is outside [0,9999]", y)
	}
	return u.AppendFormat(make([]byte, 0, len(TimeLayout)), TimeLayout), nil
}

// UnmarshalText reads an RFC 3339 time (any fraction), so that tests can
// decode responses into the types the handlers write.
func (t *msTime) UnmarshalText(b []byte) error {
	u, err := time.Parse(time.RFC3339Nano, string(b))
	*t = msTime(u)
	return err
}

// contactFields is cm.Contact without its date fields' encoding: wireContact
// embeds it and replaces those.
type contactFields cm.Contact

// wireContact is a contact as the sandbox writes it in a response: the
// fields of cm.Contact, with modifyDate and createDate in TimeLayout (the
// outer fields hide the embedded ones of the same JSON name).
type wireContact struct {
	contactFields
	ModifyDate msTime `json:"modifyDate,omitzero"`
	CreateDate msTime `json:"createDate,omitzero"`
}

// wire returns c as written in a response.
func wire(c cm.Contact) wireContact {
	return wireContact{contactFields(c), msTime(c.ModifyDate), msTime(c.CreateDate)}
}

// wireAll returns cs as written in a response (nil stays nil).
func wireAll(cs []cm.Contact) []wireContact {
	if cs == nil {
		return nil
	}
	out := make([]wireContact, len(cs))
	for i, c := range cs {
		out[i] = wire(c)
	}
	return out
}
