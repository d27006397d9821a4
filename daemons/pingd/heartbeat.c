/*
 * heartbeat: the UDP heartbeat receiver (pingd(8) -H).
 *
 * A client sends "Heartbeat SEQ SECONDS.MICROSECONDS" at a steady
 * interval (pinger -H). The receiver reports what a ping cannot: loss in
 * one direction (a gap in SEQ), the one-way delay (our clock minus the
 * sender's; meaningful only when both clocks agree, as on one host), and
 * that the client has stopped when nothing came for -T seconds. No reply
 * is sent.
 */
#include <sys/socket.h>

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "pingd.h"

static const char hb_magic[] = "Heartbeat ";

/* Digits at *pp (at most maxdigits) into *v; advances *pp. */
static int
hb_digits(const unsigned char **pp, const unsigned char *end,
    int maxdigits, unsigned long long *v, int *ndigits)
{
	const unsigned char *p = *pp;
	int n = 0;

	*v = 0;
	while (p < end && *p >= '0' && *p <= '9') {
		if (++n > maxdigits)
			return -1;
		*v = *v * 10 + (*p - '0');
		p++;
	}
	if (n == 0)
		return -1;
	*pp = p;
	if (ndigits != NULL)
		*ndigits = n;
	return 0;
}

int
hb_parse(const unsigned char *buf, size_t len, uint32_t *seq,
    long long *sent_us)
{
	const unsigned char *p = buf, *end = buf + len;
	unsigned long long s, sec, frac;
	int nfrac;

	/* An optional line end: "\n" or "\r\n". */
	if (end > p && end[-1] == '\n')
		end--;
	if (end > p && end[-1] == '\r')
		end--;
	if ((size_t)(end - p) < sizeof(hb_magic) - 1 ||
	    memcmp(p, hb_magic, sizeof(hb_magic) - 1) != 0)
		return -1;
	p += sizeof(hb_magic) - 1;
	if (hb_digits(&p, end, 10, &s, NULL) == -1 || s > UINT32_MAX)
		return -1;
	if (p >= end || *p++ != ' ')
		return -1;
	if (hb_digits(&p, end, 12, &sec, NULL) == -1)
		return -1;
	frac = 0;
	nfrac = 0;
	if (p < end && *p == '.') {
		p++;
		if (hb_digits(&p, end, 9, &frac, &nfrac) == -1)
			return -1;
	}
	if (p != end)
		return -1;
	/* Scale the fraction to microseconds, whatever its digit count. */
	for (; nfrac < 6; nfrac++)
		frac *= 10;
	for (; nfrac > 6; nfrac--)
		frac /= 10;
	*seq = (uint32_t)s;
	*sent_us = (long long)sec * 1000000 + (long long)frac;
	return 0;
}

static double
hb_delay_ms(long long sent_us)
{
	struct timespec ts;
	long long now_us;

	clock_gettime(CLOCK_REALTIME, &ts);
	now_us = (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
	return (now_us - sent_us) / 1000.0;
}

static int
hb_same(const struct hb_client *hc, const struct sockaddr *sa,
    socklen_t salen)
{
	return hc->hc_used && hc->hc_addrlen == salen &&
	    memcmp(&hc->hc_addr, sa, salen) == 0;
}

/* The client for sa, or a fresh slot: a free one, else the stalest. */
static struct hb_client *
hb_lookup(struct pingd *pd, const struct sockaddr *sa, socklen_t salen,
    int *isnew)
{
	struct hb_client *hc, *victim = NULL;
	size_t i;

	*isnew = 0;
	for (i = 0; i < HB_MAXCLIENTS; i++) {
		hc = &pd->pd_clients[i];
		if (hb_same(hc, sa, salen))
			return hc;
		if (!hc->hc_used) {
			if (victim == NULL || victim->hc_used)
				victim = hc;
		} else if (victim == NULL || (victim->hc_used &&
		    hc->hc_lastms < victim->hc_lastms))
			victim = hc;
	}
	if (victim->hc_used) {
		char peer[PINGD_ADDRSTRLEN];

		log_info("heartbeat: %s: forgotten (more than %d clients)",
		    addr_hostport((struct sockaddr *)&victim->hc_addr,
		    victim->hc_addrlen, peer, sizeof(peer)), HB_MAXCLIENTS);
	}
	memset(victim, 0, sizeof(*victim));
	memcpy(&victim->hc_addr, sa, salen);
	victim->hc_addrlen = salen;
	victim->hc_used = 1;
	*isnew = 1;
	return victim;
}

static void
hb_start(struct hb_client *hc, uint32_t seq, double delay)
{
	hc->hc_down = 0;
	hc->hc_lastseq = seq;
	hc->hc_received = 0;
	hc->hc_lost = 0;
	hc->hc_dmin = hc->hc_dmax = delay;
	hc->hc_dsum = 0;
}

static void
hb_count(struct hb_client *hc, double delay, long long now_ms)
{
	hc->hc_received++;
	hc->hc_dsum += delay;
	if (delay < hc->hc_dmin)
		hc->hc_dmin = delay;
	if (delay > hc->hc_dmax)
		hc->hc_dmax = delay;
	hc->hc_lastms = now_ms;
}

void
hb_receive(struct pingd *pd, size_t len, const struct sockaddr *sa,
    socklen_t salen, long long now_ms)
{
	char peer[PINGD_ADDRSTRLEN], text[LOG_VIS_MAX];
	struct hb_client *hc;
	long long sent_us;
	uint32_t seq, gap;
	double delay;
	int isnew;

	addr_hostport(sa, salen, peer, sizeof(peer));
	pd->pd_requests++;
	if (hb_parse(pd->pd_buf, len, &seq, &sent_us) == -1) {
		log_info("heartbeat: %s: not a heartbeat (%zu bytes): %s",
		    peer, len, log_vis(text, sizeof(text), pd->pd_buf,
		    len > 80 ? 80 : len));
		return;
	}
	delay = hb_delay_ms(sent_us);
	hc = hb_lookup(pd, sa, salen, &isnew);
	if (isnew || hc->hc_down) {
		log_info("heartbeat: %s: %s, seq %u, one-way delay %.3f ms",
		    peer, isnew ? "up" : "up again", seq, delay);
		hb_start(hc, seq, delay);
		hb_count(hc, delay, now_ms);
		return;
	}
	if (seq > hc->hc_lastseq) {
		gap = seq - hc->hc_lastseq - 1;
		if (gap > 0) {
			hc->hc_lost += gap;
			if (gap == 1)
				log_info("heartbeat: %s: lost 1 (seq %u), "
				    "one-way delay %.3f ms", peer, seq - 1,
				    delay);
			else
				log_info("heartbeat: %s: lost %u (seq %u-%u),"
				    " one-way delay %.3f ms", peer, gap,
				    hc->hc_lastseq + 1, seq - 1, delay);
		} else
			log_debug("heartbeat: %s: seq %u, one-way delay "
			    "%.3f ms", peer, seq, delay);
		hc->hc_lastseq = seq;
	} else if (seq == 1 || seq == 0) {
		/* A client that starts again from the beginning. */
		log_info("heartbeat: %s: restarted, seq %u, one-way delay "
		    "%.3f ms", peer, seq, delay);
		hb_start(hc, seq, delay);
	} else {
		/* A datagram overtaken by later ones: not lost after all. */
		if (hc->hc_lost > 0)
			hc->hc_lost--;
		log_info("heartbeat: %s: late or duplicate seq %u (after "
		    "%u), one-way delay %.3f ms", peer, seq, hc->hc_lastseq,
		    delay);
	}
	hb_count(hc, delay, now_ms);
}

long long
hb_check(struct pingd *pd, long long now_ms)
{
	char peer[PINGD_ADDRSTRLEN];
	struct hb_client *hc;
	long long limit = (long long)pd->pd_down_s * 1000, left, next = -1;
	unsigned long long sent;
	size_t i;

	for (i = 0; i < HB_MAXCLIENTS; i++) {
		hc = &pd->pd_clients[i];
		if (!hc->hc_used || hc->hc_down)
			continue;
		left = hc->hc_lastms + limit - now_ms;
		if (left > 0) {
			if (next == -1 || left < next)
				next = left;
			continue;
		}
		hc->hc_down = 1;
		sent = hc->hc_received + hc->hc_lost;
		log_info("heartbeat: %s: down: no heartbeat for %d s (last "
		    "seq %u; %llu received, %llu lost, %.1f%% loss; one-way "
		    "delay min/avg/max = %.3f/%.3f/%.3f ms)",
		    addr_hostport((struct sockaddr *)&hc->hc_addr,
		    hc->hc_addrlen, peer, sizeof(peer)), pd->pd_down_s,
		    hc->hc_lastseq, hc->hc_received, hc->hc_lost,
		    sent ? 100.0 * hc->hc_lost / sent : 0.0, hc->hc_dmin,
		    hc->hc_received ? hc->hc_dsum / hc->hc_received : 0.0,
		    hc->hc_dmax);
	}
	return next;
}
