/*
 * Archived objects (GLACIER, DEEP_ARCHIVE, the Intelligent-Tiering
 * archive tiers), from the restore's side: what S3's answers say about
 * them and the RestoreObject request that brings one back.  Pure: the
 * calls themselves are download.c's.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/xmlreader.h>

#include "extern.h"
#include "s3.h"

/*
 * What a finished GET or RestoreObject call means, from its HTTP
 * "status" and S3 error "code" (NULL when none) alone.  Pure.  Returns
 * an enum DL_ANSWER.
 */
int
archive_classify(long status, const char *code)
{
	if (code != NULL && strcmp(code, "InvalidObjectState") == 0)
		return DL_ARCHIVED;
	if (code != NULL && strcmp(code, "RestoreAlreadyInProgress") == 0)
		return DL_RESTORE_RUNNING;
	if (code != NULL)
		return DL_FAILED;
	if (status == 202)
		return DL_RESTORE_STARTED;
	if (status >= 200 && status < 300)
		return DL_OK;
	return DL_FAILED;
}

/*
 * The RestoreObject body for "days" (<Days> only when "days" > 0: the
 * Intelligent-Tiering archive tiers require none) and retrieval "tier"
 * (Standard, Bulk or Expedited, as options.c accepts: nothing needs
 * escaping).  Caller frees.
 */
char *
archive_restore_body(int days, const char *tier)
{
	char *d, *body;

	d = days > 0 ? xasprintf("<Days>%d</Days>", days) : xstrdup("");
	body = xasprintf("<RestoreRequest xmlns=\"" S3_XMLNS "\">%s"
	    "<GlacierJobParameters><Tier>%s</Tier>"
	    "</GlacierJobParameters></RestoreRequest>", d, tier);
	free(d);
	return body;
}

/*
 * The <StorageClass> and <AccessTier> of an S3 <Error> document (an
 * InvalidObjectState answer) into *storage_class and *access_tier, each
 * NULL when absent (caller frees).  Returns 0, or -1 when "doc" is not a
 * well-formed <Error> document (both NULL; nothing reported: the caller
 * falls back to the x-amz-storage-class header).
 */
int
archive_class(const char *doc, size_t len, char **storage_class,
    char **access_tier)
{
	xmlTextReaderPtr r;
	const char *name;
	char **slot;
	xmlChar *text;
	int st, depth, rc = -1;

	*storage_class = *access_tier = NULL;
	if ((r = xmlReaderForMemory(doc, (int)len, NULL, NULL, XML_PARSE_NONET |
	    XML_PARSE_NOERROR | XML_PARSE_NOWARNING)) == NULL)
		goto out;
	while ((st = xmlTextReaderRead(r)) == 1) {
		if (xmlTextReaderNodeType(r) != XML_READER_TYPE_ELEMENT)
			continue;
		depth = xmlTextReaderDepth(r);
		name = (const char *)xmlTextReaderConstLocalName(r);
		if (depth == 0 && strcmp(name, "Error") != 0)
			goto out;
		slot = depth != 1 ? NULL : strcmp(name, "StorageClass") == 0 ?
		    storage_class : strcmp(name, "AccessTier") == 0 ?
		    access_tier : NULL;
		if (slot == NULL || *slot != NULL)
			continue;
		if ((text = xmlTextReaderReadString(r)) != NULL) {
			*slot = xstrdup((const char *)text);
			xmlFree(text);
		}
	}
	if (st == 0)
		rc = 0;
out:
	if (rc == -1) {
		free(*storage_class);
		free(*access_tier);
		*storage_class = *access_tier = NULL;
	}
	xmlFreeTextReader(r);
	return rc;
}
