package planner

import (
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Intent is what the user asked for, as far as the planner understood it:
// what starts the workflow and its steps in the order they were named.
// It is kept in the state (as JSON under PlanKey) until a draft exists.
type Intent struct {
	Trigger *TriggerIntent `json:"trigger,omitempty"`
	Steps   []StepIntent   `json:"steps,omitempty"`
	// Defaults means the user told the planner to fill in what is missing.
	Defaults bool `json:"-"`
}

// Trigger kinds.
const (
	TriggerManual   = "manual"
	TriggerWebhook  = "webhook"
	TriggerSchedule = "schedule"
)

// TriggerIntent is what starts the workflow.
type TriggerIntent struct {
	Kind string `json:"kind"`
	// Cron and When describe a schedule; an empty Cron is still unknown.
	Cron   string `json:"cron,omitempty"`
	When   string `json:"when,omitempty"`
	Path   string `json:"path,omitempty"`
	Method string `json:"method,omitempty"`
}

// Step kinds.
const (
	StepHTTP  = "http"
	StepWait  = "wait"
	StepIf    = "if"
	StepSet   = "set"
	StepAI    = "ai"
	StepSlack = "slack"
	StepEmail = "email"
)

// What a step may still lack.
const (
	missingURL       = "url"
	missingCondition = "condition"
	missingDuration  = "duration"
	missingValues    = "values"
	missingChannel   = "channel"
	missingAddress   = "address"
	missingSchedule  = "schedule"
)

// StepIntent is one step; Missing names what is still unknown.
type StepIntent struct {
	Kind        string            `json:"kind"`
	Method      string            `json:"method,omitempty"`
	URL         string            `json:"url,omitempty"`
	Seconds     float64           `json:"seconds,omitempty"`
	Condition   string            `json:"condition,omitempty"`
	Values      map[string]any    `json:"values,omitempty"`
	Expressions map[string]string `json:"expressions,omitempty"`
	Provider    string            `json:"provider,omitempty"`
	Prompt      string            `json:"prompt,omitempty"`
	Channel     string            `json:"channel,omitempty"`
	To          string            `json:"to,omitempty"`
	Subject     string            `json:"subject,omitempty"`
	Text        string            `json:"text,omitempty"`
	Note        string            `json:"note,omitempty"` // a change the planner made, told to the user
	Missing     string            `json:"missing,omitempty"`
}

// anchor is where a phrase naming a trigger or step starts in a clause.
type anchor struct {
	kind       string
	start, end int
}

// detectors find the phrases that name a trigger or a step. Each match
// starts a segment that runs to the next match; the segment's parser reads
// the details (URL, duration, condition …) from it.
var detectors = []struct {
	kind string
	re   *regexp.Regexp
}{
	{StepHTTP, regexp.MustCompile(`(?i)\b(?:send|make|do|perform|fire|issue)\b[^,]*?\b(?:requests?|calls?)\b|\b(?:send|make|do|perform|fire|issue)\s+(?:an?\s+|the\s+)?(?:get|post|put|patch|delete)\b|\b(?:call|hit|ping|fetch|query|get|post|put|patch|delete|download|request)\b(?:\s+(?:to|from|at|on))?\s+https?://|https?://|\bcall\s+(?:an?\s+|the\s+|our\s+|my\s+|some\s+)?(?:api|endpoint|url|web\s?service|web\s?hook)\b`)},
	{TriggerWebhook, regexp.MustCompile(`(?i)\bweb\s?hooks?\b|\b(?:incoming|inbound)\s+(?:http\s+|api\s+)?(?:requests?|calls?|posts?)\b|\bwhen(?:ever)?\s+(?:an?\s+|the\s+)?(?:http\s+|api\s+)?(?:request|call|post)\s+(?:arrives|comes\s+in|is\s+received|hits)\b|\bwhen(?:ever)?\s+(?:someone|somebody|a\s+client|a\s+user|an?\s+app|a\s+service)\s+(?:posts|calls|sends|hits)\b|\bwhen(?:ever)?\s+(?:i|we)\s+(?:receive|get)\s+(?:an?\s+)?(?:http\s+|api\s+)?(?:request|call|post)\b`)},
	{TriggerManual, regexp.MustCompile(`(?i)\bmanual(?:ly)?\b|\bby\s+hand\b|\bon\s+demand\b|\bwhen\s+i\s+(?:click|press|run|start|trigger)\b|\bmyself\b`)},
	{TriggerSchedule, regexp.MustCompile(`(?i)\bevery\b|\beach\s+(?:day|morning|evening|night|hour|week|month|weekday|minute)\b|\b(?:daily|hourly|weekly|monthly|nightly)\b|\bweekdays\b|\bcron\b|\bschedul(?:e|ed|ing)\b|\bperiodically\b|\bregularly\b|\bin\s+the\s+(?:morning|evening)\b|\bat\s+\d{1,2}(?::\d{2})?\s*(?:am|pm)\b|\bat\s+(?:noon|midnight)\b`)},
	{StepWait, regexp.MustCompile(`(?i)\b(?:wait|pause|sleep|delay)\b|\b\d+(?:\.\d+)?\s*(?:seconds?|secs?|minutes?|mins?|hours?)\s+later\b`)},
	{StepIf, regexp.MustCompile(`(?i)\bif\b|\bonly\s+(?:if|when)\b|\bunless\b|\bin\s+case\b`)},
	{StepSet, regexp.MustCompile(`(?i)\bset\b|\b(?:transform|reformat|convert|map)\b|\badd\s+(?:a\s+)?field\b`)},
	{StepAI, regexp.MustCompile(`(?i)\b(?:ask|use|call|query|prompt)\s+(?:an?\s+|the\s+)?(?:ai|llm|gpt[\w.-]*|chatgpt|openai|claude|gemini|model|language\s+model)\b|\bsummar(?:ise|ize|y)\b|\bclassify\b|\btranslate\b|\banaly[sz]e\b|\bsentiment\b|\b(?:ai|gpt[\w.-]*|chatgpt|openai|claude|gemini|llm)\b`)},
	{StepSlack, regexp.MustCompile(`(?i)\bslack\b`)},
	{StepEmail, regexp.MustCompile(`(?i)\be-?mails?\b|\bmail\b|[\w.+-]+@[\w-]+(?:\.[\w-]+)+`)},
}

var (
	clauseSep   = regexp.MustCompile(`(?i)[;!?\n]+|\.(?:\s+|$)|,|\bthen\b|\bafter\s+that\b|\bafterwards\b|\bfinally\b`)
	urlRe       = regexp.MustCompile(`https?://[^\s"'<>]+`)
	emailAddrRe = regexp.MustCompile(`[\w.+-]+@[\w-]+(?:\.[\w-]+)+`)
	// defaultsRe: the user lets the planner fill in what is missing, said
	// outright or as a bare "yes".
	defaultsRe = regexp.MustCompile(`(?i)\b(?:go\s+ahead|use\s+(?:the\s+)?defaults?|just\s+(?:draft|build|do|make)\s+it|you\s+decide|whatever|doesn'?t\s+matter|don'?t\s+care|up\s+to\s+you)\b|^\s*(?:yes|ok(?:ay)?|sure|fine|sounds\s+good|looks\s+good)\s*[.!]*\s*$`)
)

// parseIntent reads a message. It never fails: what it does not
// understand it leaves out, and the planner asks.
func parseIntent(text string) Intent {
	var in Intent
	in.Defaults = defaultsRe.MatchString(text)
	for _, clause := range splitClauses(text) {
		anchors := findAnchors(clause)
		for i, a := range anchors {
			end := len(clause)
			if i+1 < len(anchors) {
				end = anchors[i+1].start
			}
			lead := clause[:a.start]
			if i > 0 {
				lead = clause[anchors[i-1].end:a.start]
			}
			body := clause[a.start:end]
			switch a.kind {
			case TriggerManual, TriggerWebhook, TriggerSchedule:
				if t, ok := parseTrigger(a.kind, lead, body); ok && in.Trigger == nil {
					in.Trigger = &t
				}
			default:
				if s, ok := parseStep(a.kind, lead, body); ok {
					in.Steps = append(in.Steps, s)
				}
			}
		}
	}
	return in
}

func splitClauses(text string) []string {
	var out []string
	for _, c := range clauseSep.Split(text, -1) {
		if c = strings.TrimSpace(c); c != "" {
			out = append(out, c)
		}
	}
	return out
}

// findAnchors lists the clause's phrases in order. Overlapping matches keep
// the earliest (then the longest), phrases inside a URL are ignored, and
// neighbours of the same kind merge ("send an email to bob@example.com" is
// one step, not two).
func findAnchors(clause string) []anchor {
	urls := urlRe.FindAllStringIndex(clause, -1)
	inURL := func(pos int) bool {
		for _, u := range urls {
			if pos > u[0] && pos < u[1] {
				return true
			}
		}
		return false
	}
	var all []anchor
	for _, d := range detectors {
		for _, m := range d.re.FindAllStringIndex(clause, -1) {
			if !inURL(m[0]) {
				all = append(all, anchor{kind: d.kind, start: m[0], end: m[1]})
			}
		}
	}
	sort.SliceStable(all, func(i, j int) bool {
		if all[i].start != all[j].start {
			return all[i].start < all[j].start
		}
		return all[i].end > all[j].end
	})
	var out []anchor
	for _, a := range all {
		if n := len(out); n > 0 {
			last := &out[n-1]
			if a.start < last.end {
				continue
			}
			if a.kind == last.kind {
				last.end = a.end
				continue
			}
		}
		out = append(out, a)
	}
	return out
}

// ---- triggers ----

var (
	toTargetRe    = regexp.MustCompile(`(?i)\b(?:to|at|via)\s+(?:an?\s+|the\s+|my\s+|our\s+)?$`)
	webhookPathRe = regexp.MustCompile(`(?i)\bpath\s+["'\x60]?/?([A-Za-z0-9._~-][A-Za-z0-9._~/-]{0,127})|(?:^|\s)/([A-Za-z0-9._~-][A-Za-z0-9._~/-]{0,126})`)
	// webhookMethodRe is case-sensitive: "when I get a webhook" is no GET.
	webhookMethodRe = regexp.MustCompile(`\b(GET|POST|PUT|PATCH|DELETE)\b`)
	methodRe        = regexp.MustCompile(`(?i)\b(get|post|put|patch|delete|head|fetch|download)\b`)
	// scheduleWordRe asks for a schedule without saying when.
	scheduleWordRe = regexp.MustCompile(`(?i)\b(?:cron|schedul\w*|periodically|regularly)\b`)
	unlessRe       = regexp.MustCompile(`(?i)\bunless\b`)
)

func parseTrigger(kind, lead, body string) (TriggerIntent, bool) {
	switch kind {
	case TriggerManual:
		return TriggerIntent{Kind: TriggerManual}, true
	case TriggerWebhook:
		if toTargetRe.MatchString(lead) {
			return TriggerIntent{}, false // "post to a webhook" is a request, not a trigger
		}
		t := TriggerIntent{Kind: TriggerWebhook, Method: "POST"}
		if m := webhookMethodRe.FindStringSubmatch(lead + " " + body); m != nil {
			t.Method = m[1]
		}
		if m := webhookPathRe.FindStringSubmatch(body); m != nil {
			t.Path = strings.TrimRight(m[1]+m[2], "/.")
		}
		return t, true
	case TriggerSchedule:
		cron, when, ok := parseSchedule(body)
		if ok {
			return TriggerIntent{Kind: TriggerSchedule, Cron: cron, When: when}, true
		}
		if scheduleWordRe.MatchString(body) {
			return TriggerIntent{Kind: TriggerSchedule}, true // timing still to ask
		}
	}
	return TriggerIntent{}, false
}

var (
	cronQuotedRe  = regexp.MustCompile("[\"'`]([^\"'`]+)[\"'`]")
	cronAfterRe   = regexp.MustCompile(`(?i)\bcron(?:\s+expression)?\s*:?\s*(\S+\s+\S+\s+\S+\s+\S+\s+\S+)`)
	cronFieldRe   = regexp.MustCompile(`^(?:[\d*/,\-?]+|[A-Za-z]{3}(?:-[A-Za-z]{3})?)$`)
	cronMinuteRe  = regexp.MustCompile(`^[\d*/,\-]+$`)
	everyMinRe    = regexp.MustCompile(`(?i)\bevery\s+(\d+)\s*(?:minutes?|mins?)\b`)
	everyHourNRe  = regexp.MustCompile(`(?i)\bevery\s+(\d+)\s*(?:hours?|hrs?)\b`)
	everyMinute1  = regexp.MustCompile(`(?i)\b(?:every|each)\s+minute\b`)
	hourlyRe      = regexp.MustCompile(`(?i)\bhourly\b|\b(?:every|each)\s+hour\b`)
	atTimeRe      = regexp.MustCompile(`(?i)\bat\s+(\d{1,2})(?:[:.h](\d{2}))?\s*(am|pm)?\b|\b(\d{1,2})(?::(\d{2}))?\s*(am|pm)\b`)
	noonRe        = regexp.MustCompile(`(?i)\bnoon\b|\bmidday\b`)
	midnightRe    = regexp.MustCompile(`(?i)\bmidnight\b|\bnight(?:ly|s)?\b`)
	morningRe     = regexp.MustCompile(`(?i)\bmornings?\b`)
	eveningRe     = regexp.MustCompile(`(?i)\bevenings?\b`)
	weekdaysRe    = regexp.MustCompile(`(?i)\bweekdays?\b|\bmonday\s+(?:to|through|-)\s+friday\b|\bworking\s+days?\b|\bbusiness\s+days?\b`)
	weekendRe     = regexp.MustCompile(`(?i)\bweekends?\b`)
	weeklyRe      = regexp.MustCompile(`(?i)\bweekly\b|\b(?:every|each)\s+week\b`)
	monthlyRe     = regexp.MustCompile(`(?i)\bmonthly\b|\b(?:every|each)\s+month\b`)
	dailyRe       = regexp.MustCompile(`(?i)\bdaily\b|\b(?:every|each)\s+day\b|\bmornings?\b|\bevenings?\b|\bnight(?:ly|s)?\b|\bat\s+\d|\d\s*(?:am|pm)\b|\bnoon\b|\bmidnight\b`)
	dayNames      = []string{"sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"}
	dayOfWeekRe   = regexp.MustCompile(`(?i)\b(sunday|monday|tuesday|wednesday|thursday|friday|saturday)s?\b`)
	titleReplacer = strings.NewReplacer("sunday", "Sunday", "monday", "Monday", "tuesday", "Tuesday", "wednesday", "Wednesday", "thursday", "Thursday", "friday", "Friday", "saturday", "Saturday")
)

// parseSchedule turns a schedule phrase into a five-field cron expression
// and a description of it.
func parseSchedule(s string) (cron, when string, ok bool) {
	if c, ok := explicitCron(s); ok {
		return c, "on the cron schedule " + c, true
	}
	if m := everyMinRe.FindStringSubmatch(s); m != nil {
		n, _ := strconv.Atoi(m[1])
		switch {
		case n >= 1 && n < 60:
			return "*/" + m[1] + " * * * *", "every " + m[1] + " minutes", true
		case n >= 60 && n%60 == 0 && n/60 < 24:
			h := strconv.Itoa(n / 60)
			return "0 */" + h + " * * *", "every " + h + " hours", true
		}
	}
	if m := everyHourNRe.FindStringSubmatch(s); m != nil {
		if n, _ := strconv.Atoi(m[1]); n >= 1 && n < 24 {
			return "0 */" + m[1] + " * * *", "every " + m[1] + " hours", true
		}
	}
	if everyMinute1.MatchString(s) {
		return "* * * * *", "every minute", true
	}
	if hourlyRe.MatchString(s) {
		return "0 * * * *", "every hour", true
	}
	hour, minute, timed := 9, 0, false
	switch {
	case noonRe.MatchString(s):
		hour, timed = 12, true
	case eveningRe.MatchString(s):
		hour, timed = 18, true
	case midnightRe.MatchString(s):
		hour, timed = 0, true
	case morningRe.MatchString(s):
		timed = true
	}
	if m := atTimeRe.FindStringSubmatch(s); m != nil {
		h, mm, ampm := m[1], m[2], m[3]
		if h == "" {
			h, mm, ampm = m[4], m[5], m[6]
		}
		hh, _ := strconv.Atoi(h)
		mi, _ := strconv.Atoi(mm)
		switch strings.ToLower(ampm) {
		case "pm":
			if hh < 12 {
				hh += 12
			}
		case "am":
			if hh == 12 {
				hh = 0
			}
		default:
			if eveningRe.MatchString(s) && hh < 12 {
				hh += 12
			}
		}
		if hh < 24 && mi < 60 {
			hour, minute, timed = hh, mi, true
		}
	}
	at := " at " + twoDigits(hour) + ":" + twoDigits(minute)
	prefix := strconv.Itoa(minute) + " " + strconv.Itoa(hour) + " "
	switch {
	case weekdaysRe.MatchString(s):
		return prefix + "* * 1-5", "every weekday" + at, true
	case weekendRe.MatchString(s):
		return prefix + "* * 0,6", "every weekend day" + at, true
	}
	if days := dayOfWeekRe.FindAllStringSubmatch(s, -1); days != nil {
		var nums, names []string
		seen := map[string]bool{}
		for _, d := range days {
			name := strings.ToLower(d[1])
			if seen[name] {
				continue
			}
			seen[name] = true
			for i, dn := range dayNames {
				if dn == name {
					nums = append(nums, strconv.Itoa(i))
					names = append(names, titleReplacer.Replace(name))
				}
			}
		}
		return prefix + "* * " + strings.Join(nums, ","), "every " + strings.Join(names, " and ") + at, true
	}
	switch {
	case weeklyRe.MatchString(s):
		return prefix + "* * 1", "every Monday" + at, true
	case monthlyRe.MatchString(s):
		return prefix + "1 * *", "on the 1st of every month" + at, true
	case timed || dailyRe.MatchString(s):
		return prefix + "* * *", "every day" + at, true
	}
	return "", "", false
}

func explicitCron(s string) (string, bool) {
	var candidates []string
	for _, m := range cronQuotedRe.FindAllStringSubmatch(s, -1) {
		candidates = append(candidates, m[1])
	}
	if m := cronAfterRe.FindStringSubmatch(s); m != nil {
		candidates = append(candidates, m[1])
	}
	for _, c := range candidates {
		fields := strings.Fields(c)
		if len(fields) != 5 || !cronMinuteRe.MatchString(fields[0]) {
			continue
		}
		valid := true
		for _, f := range fields {
			valid = valid && cronFieldRe.MatchString(f)
		}
		if valid {
			return strings.Join(fields, " "), true
		}
	}
	return "", false
}

func twoDigits(n int) string {
	if n < 10 {
		return "0" + strconv.Itoa(n)
	}
	return strconv.Itoa(n)
}

// ---- steps ----

// MaxWaitSeconds mirrors the WAIT node's schema maximum.
const MaxWaitSeconds = 3600

func parseStep(kind, lead, body string) (StepIntent, bool) {
	switch kind {
	case StepHTTP:
		s := StepIntent{Kind: StepHTTP, Method: "GET"}
		if m := methodRe.FindStringSubmatch(lead + " " + body); m != nil {
			switch up := strings.ToUpper(m[1]); up {
			case "FETCH", "DOWNLOAD":
			default:
				s.Method = up
			}
		}
		if u, ok := findURL(body); ok {
			s.URL = u
		} else {
			s.Missing = missingURL
		}
		return s, true
	case StepWait:
		s := StepIntent{Kind: StepWait}
		secs, ok := parseDuration(body)
		switch {
		case !ok:
			s.Missing = missingDuration
		case secs > MaxWaitSeconds:
			s.Seconds = MaxWaitSeconds
			s.Note = "a wait node pauses at most one hour, so the wait is one hour"
		default:
			s.Seconds = secs
		}
		return s, true
	case StepIf:
		words := strings.Fields(ifAnchorRe.ReplaceAllString(body, ""))
		if len(meaningful(words)) == 0 {
			return StepIntent{}, false // "if a webhook arrives": the if was only grammar
		}
		s := StepIntent{Kind: StepIf}
		cond, ok := parseCondition(body)
		if ok {
			s.Condition = cond
		} else {
			s.Missing = missingCondition
		}
		return s, true
	case StepSet:
		if setUpRe.MatchString(body) {
			return StepIntent{}, false
		}
		s := StepIntent{Kind: StepSet}
		s.Values, s.Expressions = parseAssignments(body)
		if len(s.Values) == 0 && len(s.Expressions) == 0 {
			if strings.HasPrefix(strings.ToLower(body), "set") && !setSomethingRe.MatchString(body) {
				return StepIntent{}, false // "a set of …", "set a reminder"
			}
			s.Missing = missingValues
		}
		return s, true
	case StepAI:
		return parseAI(lead + " " + body), true
	case StepSlack:
		s := StepIntent{Kind: StepSlack, Text: "Workflow update: " + inputJSON}
		if m := channelRe.FindStringSubmatch(body); m != nil {
			s.Channel = "#" + m[1]
		} else {
			s.Missing = missingChannel
		}
		return s, true
	case StepEmail:
		if emailTriggerRe.MatchString(lead + " " + body) {
			return StepIntent{}, false // an incoming e-mail is not a step the planner drafts
		}
		s := StepIntent{Kind: StepEmail, Subject: "Workflow notification"}
		if m := emailAddrRe.FindString(body); m != "" {
			s.To = m
		} else {
			s.Missing = missingAddress
		}
		if m := subjectRe.FindStringSubmatch(body); m != nil {
			s.Subject = strings.TrimSpace(m[1])
		}
		return s, true
	}
	return StepIntent{}, false
}

var (
	ifAnchorRe     = regexp.MustCompile(`(?i)\b(?:only\s+)?(?:if|when|unless|in\s+case)\b`)
	setUpRe        = regexp.MustCompile(`(?i)^set\s+up\b`)
	setSomethingRe = regexp.MustCompile(`(?i)^set\s+(?:some\s+|the\s+)?(?:values?|fields?|data|variables?)\b`)
	channelRe      = regexp.MustCompile(`#([\w-]{1,80})`)
	emailTriggerRe = regexp.MustCompile(`(?i)\bwhen(?:ever)?\s+(?:an?\s+|new\s+)*e-?mails?\s+(?:arrives?|comes?\s+in|is\s+received)\b|\b(?:receive|get)\s+(?:an?\s+|new\s+)*e-?mails?\b`)
	subjectRe      = regexp.MustCompile(`(?i)\bsubject\s*:?\s*["'“]?([^"'”]{1,200})["'”]?`)
	durationRe     = regexp.MustCompile(`(?i)(\d+(?:\.\d+)?|an?|one|half\s+an?)\s*(seconds?|secs?|s|minutes?|mins?|m|hours?|hrs?|h)\b`)
)

var stopWords = map[string]bool{"a": true, "an": true, "the": true, "it": true, "that": true, "this": true, "so": true}

func meaningful(words []string) []string {
	var out []string
	for _, w := range words {
		if !stopWords[strings.ToLower(w)] {
			out = append(out, w)
		}
	}
	return out
}

func findURL(s string) (string, bool) {
	raw := urlRe.FindString(s)
	raw = strings.TrimRight(raw, ".,;:!?)]}'\"")
	if raw == "" {
		return "", false
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return "", false
	}
	return raw, true
}

func parseDuration(s string) (float64, bool) {
	m := durationRe.FindStringSubmatch(s)
	if m == nil {
		return 0, false
	}
	var n float64
	switch q := strings.ToLower(strings.Join(strings.Fields(m[1]), " ")); q {
	case "a", "an", "one":
		n = 1
	case "half a", "half an":
		n = 0.5
	default:
		n, _ = strconv.ParseFloat(q, 64)
	}
	switch strings.ToLower(m[2])[0] {
	case 'm':
		n *= 60
	case 'h':
		n *= 3600
	}
	if n <= 0 {
		return 0, false
	}
	return n, true
}

// ---- conditions ----

var (
	rawCompareRe = regexp.MustCompile(`^([A-Za-z_][\w.]*)\s*(>=|<=|==|!=|>|<|=)\s*(.+)$`)
	compareRes   = []struct {
		re *regexp.Regexp
		op string
	}{
		{regexp.MustCompile(`(?i)^(.+?)\s+(?:is\s+)?(?:greater|more|larger|higher|bigger)\s+than\s+or\s+equal\s+to\s+(.+)$`), ">="},
		{regexp.MustCompile(`(?i)^(.+?)\s+(?:is\s+)?(?:less|smaller|lower|fewer)\s+than\s+or\s+equal\s+to\s+(.+)$`), "<="},
		{regexp.MustCompile(`(?i)^(.+?)\s+(?:is\s+)?(?:greater|more|larger|higher|bigger)\s+than\s+(.+)$`), ">"},
		{regexp.MustCompile(`(?i)^(.+?)\s+(?:is\s+)?(?:over|above|exceeds)\s+(.+)$`), ">"},
		{regexp.MustCompile(`(?i)^(.+?)\s+(?:is\s+)?(?:less|smaller|lower|fewer)\s+than\s+(.+)$`), "<"},
		{regexp.MustCompile(`(?i)^(.+?)\s+(?:is\s+)?(?:under|below)\s+(.+)$`), "<"},
		{regexp.MustCompile(`(?i)^(.+?)\s+is\s+at\s+least\s+(.+)$`), ">="},
		{regexp.MustCompile(`(?i)^(.+?)\s+is\s+at\s+most\s+(.+)$`), "<="},
		{regexp.MustCompile(`(?i)^(.+?)\s+(?:is\s+not|isn't|does\s+not\s+equal|doesn't\s+equal|not\s+equals?)\s+(.+)$`), "!="},
		{regexp.MustCompile(`(?i)^(.+?)\s+(?:does\s+not|doesn't)\s+contain\s+(.+)$`), "not contains"},
		{regexp.MustCompile(`(?i)^(.+?)\s+contains\s+(.+)$`), "contains"},
		{regexp.MustCompile(`(?i)^(.+?)\s+(?:is\s+equal\s+to|equals|is)\s+(.+)$`), "=="},
	}
	fieldWordsRe  = regexp.MustCompile(`^[A-Za-z_][\w.]*(?:\s+[A-Za-z_][\w.]*){0,2}$`)
	fieldAliases  = map[string]string{"status_code": "status", "response_code": "status", "http_status": "status", "response_status": "status", "response": "body", "response_body": "body", "result": "body"}
	fieldNoiseRe  = regexp.MustCompile(`(?i)^(?:the|its|their|an?)\s+|\s+(?:field|value|property)$`)
	trailingNoise = regexp.MustCompile(`(?i)\s+(?:then|do|and|so)$`)
)

// parseCondition turns "amount is greater than 100" or "status == 200"
// into an expr-lang expression over the node's input. Only forms it is sure
// about become conditions: a wrong guess would validate and fail at run time.
func parseCondition(text string) (string, bool) {
	neg := unlessRe.MatchString(text)
	s := strings.TrimSpace(ifAnchorRe.ReplaceAllString(text, ""))
	s = strings.TrimSpace(trailingNoise.ReplaceAllString(s, ""))
	var field, op, value string
	if m := rawCompareRe.FindStringSubmatch(s); m != nil {
		field, op, value = m[1], m[2], m[3]
		if op == "=" {
			op = "=="
		}
	} else {
		for _, c := range compareRes {
			if m := c.re.FindStringSubmatch(s); m != nil {
				field, op, value = m[1], c.op, m[2]
				break
			}
		}
	}
	if op == "" {
		return "", false
	}
	path, ok := fieldPath(field)
	if !ok {
		return "", false
	}
	lit, ok := literal(strings.TrimSpace(value), op)
	if !ok {
		return "", false
	}
	var expr string
	switch op {
	case "contains":
		expr = path + " contains " + lit
	case "not contains":
		expr = "not (" + path + " contains " + lit + ")"
	default:
		expr = path + " " + op + " " + lit
	}
	if neg {
		expr = "not (" + expr + ")"
	}
	return expr, true
}

func fieldPath(field string) (string, bool) {
	f := strings.TrimSpace(field)
	for {
		g := fieldNoiseRe.ReplaceAllString(f, "")
		if g == f {
			break
		}
		f = g
	}
	if !fieldWordsRe.MatchString(f) {
		return "", false
	}
	f = strings.ToLower(strings.Join(strings.Fields(f), "_"))
	if a, ok := fieldAliases[f]; ok {
		f = a
	}
	if !strings.HasPrefix(f, "input.") && f != "input" {
		f = "input." + f
	}
	return f, true
}

var numberRe = regexp.MustCompile(`^-?\d+(?:\.\d+)?$`)

// literal renders a value as an expr-lang literal; comparisons other than
// equality and contains want numbers.
func literal(v, op string) (string, bool) {
	v = strings.TrimRight(v, ".!?")
	if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
		return strconv.Quote(v[1 : len(v)-1]), true
	}
	if numberRe.MatchString(v) {
		return v, true
	}
	switch op {
	case ">", "<", ">=", "<=":
		return "", false
	}
	switch strings.ToLower(v) {
	case "true", "false":
		return strings.ToLower(v), true
	case "empty":
		return `""`, true
	}
	if v == "" || len(v) > 200 {
		return "", false
	}
	return strconv.Quote(v), true
}

// ---- assignments ----

var (
	assignSplitRe = regexp.MustCompile(`(?i)\s+and\s+(?:set\s+)?|\s*,\s*`)
	assignRe      = regexp.MustCompile(`(?i)^(?:set|transform|reformat|convert|map|add\s+(?:a\s+)?field)?\s*(?:it\s+so\s+that\s+)?(?:the\s+)?(?:field\s+|value\s+)?["'\x60]?([A-Za-z_]\w{0,63})["'\x60]?\s+(?:to|=|as|with\s+(?:the\s+)?value)\s+(.+)$`)
	exprValueRe   = regexp.MustCompile(`^\{\{\s*(.+?)\s*\}\}$|^(input\.[\w.]+.*)$`)
)

// parseAssignments reads "set greeting to hello and count to 3".
func parseAssignments(s string) (map[string]any, map[string]string) {
	values, exprs := map[string]any{}, map[string]string{}
	for _, part := range assignSplitRe.Split(strings.TrimSpace(s), -1) {
		m := assignRe.FindStringSubmatch(strings.TrimSpace(part))
		if m == nil {
			continue
		}
		key, raw := m[1], strings.TrimSpace(strings.TrimRight(m[2], "."))
		if e := exprValueRe.FindStringSubmatch(raw); e != nil {
			exprs[key] = e[1] + e[2]
			continue
		}
		values[key] = typedValue(raw)
	}
	if len(values) == 0 {
		values = nil
	}
	if len(exprs) == 0 {
		exprs = nil
	}
	return values, exprs
}

func typedValue(raw string) any {
	if len(raw) >= 2 && (raw[0] == '"' || raw[0] == '\'') && raw[len(raw)-1] == raw[0] {
		return raw[1 : len(raw)-1]
	}
	if numberRe.MatchString(raw) {
		if n, err := strconv.ParseFloat(raw, 64); err == nil {
			return n
		}
	}
	switch strings.ToLower(raw) {
	case "true":
		return true
	case "false":
		return false
	}
	return raw
}

// ---- AI ----

var (
	translateRe = regexp.MustCompile(`(?i)\btranslate\b.*?\b(?:in)?to\s+([A-Za-z]+)`)
	askAboutRe  = regexp.MustCompile(`(?i)\b(?:ask|use|call|query|prompt)\b.*?\b(?:to|about|whether|if|:)\s+(.{3,})$`)
)

// inputJSON is the template that hands the node's input to a prompt.
const inputJSON = "{{ toJSON(input) }}"

func parseAI(s string) StepIntent {
	st := StepIntent{Kind: StepAI, Provider: "OPENAI"}
	low := strings.ToLower(s)
	switch {
	case strings.Contains(low, "claude"):
		st.Provider = "CLAUDE"
	case strings.Contains(low, "gemini"):
		st.Provider = "GEMINI"
	}
	var task string
	switch {
	case strings.Contains(low, "summar"):
		task = "Summarise the following data in a few sentences."
	case translateRe.MatchString(s):
		task = "Translate the following into " + translateRe.FindStringSubmatch(s)[1] + "."
	case strings.Contains(low, "classify"):
		task = "Classify the following data and answer with one short label."
	case strings.Contains(low, "sentiment"):
		task = "Say whether the sentiment of the following is positive, negative or neutral."
	case strings.Contains(low, "analys") || strings.Contains(low, "analyz"):
		task = "Analyse the following data and list the key points."
	default:
		if m := askAboutRe.FindStringSubmatch(strings.TrimSpace(s)); m != nil {
			task = strings.TrimSpace(m[1])
		} else {
			task = "Answer helpfully about the following data."
		}
	}
	st.Prompt = task + "\n\n" + inputJSON
	return st
}
