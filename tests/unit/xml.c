#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/buf.h"
#include "lib/err.h"
#include "lib/util.h"
#include "lib/xml.h"

static const char sts_error[] =
	"<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">"
	"<Error><Type>Sender</Type><Code>AccessDenied</Code>"
	"<Message>Not authorized</Message></Error>"
	"<RequestId>abc</RequestId></ErrorResponse>";

static const char assume_role[] =
	"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	"<AssumeRoleWithWebIdentityResponse "
	"xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\n"
	"  <AssumeRoleWithWebIdentityResult>\n"
	"    <SubjectFromWebIdentityToken>repo:org/app:ref:refs/heads/main"
	"</SubjectFromWebIdentityToken>\n"
	"    <Credentials>\n"
	"      <AccessKeyId>ASIAEXAMPLE</AccessKeyId>\n"
	"      <SecretAccessKey>wJalrXUtnFEMI/K7MDENG</SecretAccessKey>\n"
	"      <SessionToken>FwoGZXIvYXdzEXAMPLE==</SessionToken>\n"
	"      <Expiration>2026-11-22T14:03:33Z</Expiration>\n"
	"    </Credentials>\n"
	"  </AssumeRoleWithWebIdentityResult>\n"
	"  <ResponseMetadata><RequestId>c6104cbe</RequestId>"
	"</ResponseMetadata>\n"
	"</AssumeRoleWithWebIdentityResponse>\n";

static const char list_bucket[] =
	"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	"<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
	"<Name>bucket</Name><Prefix>logs/</Prefix><KeyCount>3</KeyCount>"
	"<MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated>"
	"<Contents><Key>logs/a.txt</Key><Size>1</Size>"
	"<ETag>&quot;0cc175b9&quot;</ETag></Contents>"
	"<CommonPrefixes><Prefix>logs/old/</Prefix></CommonPrefixes>"
	"<Contents><Key>logs/b &amp; c.txt</Key><Size>22</Size></Contents>"
	"<Contents><Key>logs/d.txt</Key><Size>333</Size></Contents>"
	"</ListBucketResult>";

static struct xml *parse_ok(const char *s)
{
	struct err e = ERR_INIT;
	struct xml *x = NULL;

	if (xml_parse(&x, s, strlen(s), &e))
		fail_msg("parse failed: %s", e.msg);
	assert_non_null(x);
	/* untouched on success */
	assert_int_equal(e.code, ERR_NONE);
	assert_string_equal(e.msg, "");
	return x;
}

/* Parse data[0..len), expecting failure with code and a message holding
 * want; returns nothing, checks *out is NULL. */
static void parse_fail(const char *data, size_t len, enum err_code code,
		       const char *want)
{
	struct err e = ERR_INIT;
	struct xml *x = (struct xml *)&e;	/* must be reset to NULL */

	assert_int_equal(xml_parse(&x, data, len, &e), -1);
	assert_null(x);
	if (e.code != code || !strstr(e.msg, want))
		fail_msg("got %s \"%s\", want %s with \"%s\"",
			 err_code_name(e.code), e.msg, err_code_name(code),
			 want);
	assert_true(str_starts_with(e.msg, "line "));
}

static void parse_fails(const char *s, enum err_code code, const char *want)
{
	parse_fail(s, strlen(s), code, want);
}

static void test_xml_sts_error(void **state)
{
	struct xml *x = parse_ok(sts_error);

	(void)state;
	assert_string_equal(x->name, "ErrorResponse");
	assert_null(x->parent);
	assert_string_equal(xml_text(x, "Error/Type"), "Sender");
	assert_string_equal(xml_text(x, "Error/Code"), "AccessDenied");
	assert_string_equal(xml_text(x, "Error/Message"), "Not authorized");
	assert_string_equal(xml_text(x, "RequestId"), "abc");
	assert_string_equal(xml_text(x, "Error"), "");
	assert_ptr_equal(xml_find(x, "Error/Code")->parent,
			 xml_find(x, "Error"));
	xml_free(x);
}

static void test_xml_assume_role(void **state)
{
	struct xml *x = parse_ok(assume_role);
	const struct xml *cr;

	(void)state;
	cr = xml_find(x, "AssumeRoleWithWebIdentityResult/Credentials");
	assert_non_null(cr);
	assert_string_equal(xml_text(cr, "AccessKeyId"), "ASIAEXAMPLE");
	assert_string_equal(xml_text(cr, "SecretAccessKey"),
			    "wJalrXUtnFEMI/K7MDENG");
	assert_string_equal(xml_text(cr, "SessionToken"),
			    "FwoGZXIvYXdzEXAMPLE==");
	assert_string_equal(xml_text(cr, "Expiration"),
			    "2026-11-22T14:03:33Z");
	assert_string_equal(xml_text(x, "ResponseMetadata/RequestId"),
			    "c6104cbe");
	/* untrimmed: the indentation is the element's own text */
	assert_string_equal(cr->text, "\n      \n      \n      \n      \n    ");
	xml_free(x);
}

static void test_xml_list_bucket(void **state)
{
	static const char *const keys[] = {
		"logs/a.txt", "logs/b & c.txt", "logs/d.txt",
	};
	static const char *const sizes[] = { "1", "22", "333" };
	struct xml *x = parse_ok(list_bucket);
	const struct xml *c;
	size_t i = 0;

	(void)state;
	assert_string_equal(xml_text(x, "Name"), "bucket");
	assert_string_equal(xml_text(x, "IsTruncated"), "false");
	for (c = xml_first(x, "Contents"); c; c = xml_next(c), i++) {
		assert_true(i < ARRAY_SIZE(keys));
		assert_string_equal(xml_text(c, "Key"), keys[i]);
		assert_string_equal(xml_text(c, "Size"), sizes[i]);
	}
	assert_int_equal(i, 3);
	assert_string_equal(xml_text(x, "Contents/ETag"), "\"0cc175b9\"");
	/* the first match at each step: the first Contents has no Size 22 */
	assert_string_equal(xml_text(x, "Contents/Size"), "1");
	assert_string_equal(xml_text(x, "CommonPrefixes/Prefix"),
			    "logs/old/");
	assert_string_equal(xml_text(x, "Prefix"), "logs/");
	xml_free(x);
}

static void test_xml_find_paths(void **state)
{
	struct xml *x = parse_ok(sts_error);
	const struct xml *err;

	(void)state;
	assert_ptr_equal(xml_find(x, ""), x);
	err = xml_find(x, "Error");
	assert_non_null(err);
	assert_ptr_equal(xml_find(x, "/Error/"), err);
	assert_ptr_equal(xml_find(x, "Error//Code"),
			 xml_find(err, "Code"));
	assert_null(xml_find(x, "ErrorResponse"));	/* steps start below */
	assert_null(xml_find(x, "Error/Nope"));
	assert_null(xml_find(x, "Err"));		/* whole names only */
	assert_null(xml_find(x, "Error/CodeX"));
	assert_null(xml_find(x, "Error/Code/Deeper"));
	assert_null(xml_text(x, "Nope"));
	assert_null(xml_find(NULL, "Error"));
	assert_null(xml_text(xml_find(x, "Nope"), "Code"));
	assert_string_equal(xml_text(err, ""), "");
	xml_free(x);
}

static void test_xml_first_next(void **state)
{
	struct xml *x = parse_ok("<r><m>1</m><n>x</n><m>2</m><o/><m>3</m>"
				 "<n>y</n></r>");
	const struct xml *c;
	char seen[8] = "";
	size_t n = 0;

	(void)state;
	for (c = xml_first(x, "m"); c; c = xml_next(c))
		seen[n++] = c->text[0];
	seen[n] = '\0';
	assert_string_equal(seen, "123");
	c = xml_first(x, "n");
	assert_string_equal(c->text, "x");
	assert_string_equal(xml_next(c)->text, "y");
	assert_null(xml_next(xml_next(c)));
	assert_null(xml_first(x, "zz"));
	assert_null(xml_first(NULL, "m"));
	assert_null(xml_next(NULL));
	assert_null(xml_first(xml_first(x, "o"), "m"));
	xml_free(x);
}

static void test_xml_namespaces_and_prefixes(void **state)
{
	struct xml *x = parse_ok(
		"<s:Envelope xmlns:s=\"urn:soap\" xmlns=\"urn:default\">"
		"<s:Body><Item>1</Item><aws:Item xmlns:aws=\"urn:aws\">2"
		"</aws:Item><Plain xmlns=\"\">3</Plain></s:Body></s:Envelope>");
	const struct xml *c;

	(void)state;
	assert_string_equal(x->name, "Envelope");
	assert_string_equal(xml_text(x, "Body/Item"), "1");
	c = xml_next(xml_first(xml_find(x, "Body"), "Item"));
	assert_non_null(c);
	assert_string_equal(c->name, "Item");
	assert_string_equal(c->text, "2");
	assert_string_equal(xml_text(x, "Body/Plain"), "3");
	xml_free(x);

	/* without namespaces at all */
	x = parse_ok("<a><b>t</b></a>");
	assert_string_equal(xml_text(x, "b"), "t");
	xml_free(x);

	/* the separator expat is given cannot be smuggled into a URI */
	parse_fails("<a xmlns=\"urn:x|y\"><b/></a>", ERR_SYNTAX,
		    "syntax error");
	/* a prefix that was never declared */
	parse_fails("<aws:Error><Code>x</Code></aws:Error>", ERR_SYNTAX,
		    "unbound prefix");
}

static void test_xml_cdata(void **state)
{
	struct xml *x = parse_ok("<a>x<![CDATA[<b>&amp;]]>y<![CDATA[]]>"
				 "</a>");

	(void)state;
	assert_string_equal(x->text, "x<b>&amp;y");
	assert_null(x->child);
	xml_free(x);
}

static void test_xml_entities_in_text(void **state)
{
	struct xml *x = parse_ok("<a>&amp;&lt;&gt;&quot;&apos;&#x41;&#66;"
				 "&#xE9;&#x1F600;</a>");

	(void)state;
	assert_string_equal(x->text,
			    "&<>\"'AB\xc3\xa9\xf0\x9f\x98\x80");
	xml_free(x);

	/* an entity nobody declared, and a reference to a character XML
	 * does not allow */
	parse_fails("<a>&xxe;</a>", ERR_SYNTAX, "undefined entity");
	parse_fails("<a>&#0;</a>", ERR_SYNTAX, "reference to invalid");
}

static void test_xml_text_around_children(void **state)
{
	struct xml *x = parse_ok("<a> x <b>1</b><!-- note --> y<?pi z?>"
				 "<c/>z </a>");

	(void)state;
	assert_string_equal(x->text, " x  yz ");
	assert_string_equal(xml_text(x, "b"), "1");
	assert_string_equal(xml_text(x, "c"), "");
	xml_free(x);
}

static void test_xml_attributes_ignored(void **state)
{
	struct xml *x = parse_ok("<a id=\"1\" xmlns:q=\"urn:q\" q:x=\"&lt;\">"
				 "<b name=\"n\">t</b></a>");

	(void)state;
	assert_string_equal(x->name, "a");
	assert_string_equal(x->text, "");
	assert_string_equal(xml_text(x, "b"), "t");
	xml_free(x);
}

static void test_xml_encoding_declared(void **state)
{
	struct xml *x = parse_ok("\xef\xbb\xbf<?xml version=\"1.0\" "
				 "encoding=\"ISO-8859-1\"?><a>caf\xe9</a>");

	(void)state;
	assert_string_equal(x->text, "caf\xc3\xa9");
	xml_free(x);
}

/* depth elements nested, "<e><e>...</e></e>" */
static char *nested(int depth)
{
	struct buf b = BUF_INIT;
	int i;

	for (i = 0; i < depth; i++)
		buf_adds(&b, "<e>");
	buf_adds(&b, "deep");
	for (i = 0; i < depth; i++)
		buf_adds(&b, "</e>");
	return buf_detach(&b, NULL);
}

static void test_xml_depth_limit(void **state)
{
	char *s = nested(XML_DEPTH_MAX);
	struct xml *x = parse_ok(s);
	const struct xml *n = x;
	int depth = 1;

	(void)state;
	while (n->child) {
		n = n->child;
		depth++;
	}
	assert_int_equal(depth, XML_DEPTH_MAX);
	assert_string_equal(n->text, "deep");
	xml_free(x);
	free(s);

	s = nested(XML_DEPTH_MAX + 1);
	parse_fails(s, ERR_LIMIT, "nested deeper than 64");
	free(s);

	/* an empty element one level too deep: expat still reports its end
	 * after the start was refused */
	s = nested(XML_DEPTH_MAX);
	memcpy(strstr(s, "deep"), "<x/>", 4);
	parse_fails(s, ERR_LIMIT, "nested deeper than 64");
	free(s);

	/* refused before the document's end, unclosed or not */
	s = nested(10000);
	s[strlen(s) / 2] = '\0';
	parse_fails(s, ERR_LIMIT, "nested deeper than 64");
	free(s);
}

/* A root holding n - 1 empty children: n elements in all. */
static char *flat(size_t n)
{
	struct buf b = BUF_INIT;
	size_t i;

	buf_adds(&b, "<r>");
	for (i = 1; i < n; i++)
		buf_adds(&b, "<m/>");
	buf_adds(&b, "</r>");
	return buf_detach(&b, NULL);
}

static void test_xml_node_limit(void **state)
{
	char *s = flat(XML_NODES_MAX);
	struct xml *x = parse_ok(s);
	const struct xml *c;
	size_t n = 0;

	(void)state;
	for (c = xml_first(x, "m"); c; c = xml_next(c))
		n++;
	assert_int_equal(n, XML_NODES_MAX - 1);
	xml_free(x);
	free(s);

	s = flat(XML_NODES_MAX + 1);
	parse_fails(s, ERR_LIMIT, "more than 200000 elements");
	free(s);
}

static void test_xml_billion_laughs_refused(void **state)
{
	static const char laughs[] =
		"<?xml version=\"1.0\"?>\n"
		"<!DOCTYPE lolz [\n"
		" <!ENTITY a \"lol\">\n"
		" <!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\">\n"
		" <!ENTITY c \"&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;\">\n"
		" <!ENTITY d \"&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;\">\n"
		" <!ENTITY e \"&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;\">\n"
		" <!ENTITY f \"&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;\">\n"
		" <!ENTITY g \"&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;\">\n"
		" <!ENTITY h \"&g;&g;&g;&g;&g;&g;&g;&g;&g;&g;\">\n"
		" <!ENTITY i \"&h;&h;&h;&h;&h;&h;&h;&h;&h;&h;\">\n"
		" <!ENTITY j \"&i;&i;&i;&i;&i;&i;&i;&i;&i;&i;\">\n"
		"]>\n"
		"<lolz>&j;</lolz>\n";

	(void)state;
	/* refused at the '[', before any declaration is read */
	parse_fails(laughs, ERR_SYNTAX,
		    "line 2, column 16: DOCTYPE not allowed");
	/* a DOCTYPE with nothing in it is refused all the same */
	parse_fails("<!DOCTYPE a><a/>", ERR_SYNTAX, "DOCTYPE not allowed");
}

static void test_xml_external_entity_refused(void **state)
{
	(void)state;
	parse_fails("<?xml version=\"1.0\"?>"
		    "<!DOCTYPE r [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>"
		    "<r>&xxe;</r>", ERR_SYNTAX, "DOCTYPE not allowed");
	parse_fails("<!DOCTYPE r SYSTEM \"http://169.254.169.254/dtd\">"
		    "<r>&xxe;</r>", ERR_SYNTAX, "DOCTYPE not allowed");
	parse_fails("<!DOCTYPE r [<!ENTITY % p SYSTEM \"http://x/e.dtd\"> %p;]>"
		    "<r/>", ERR_SYNTAX, "DOCTYPE not allowed");
}

static void test_xml_truncated(void **state)
{
	(void)state;
	parse_fail(sts_error, sizeof(sts_error) - 1 - 20, ERR_SYNTAX,
		   "line 1, column ");
	parse_fails("<a><b>x</b>", ERR_SYNTAX, "no element found");
	parse_fails("<a><b>x</b", ERR_SYNTAX, "line 1, column ");
	parse_fails("<a>&am", ERR_SYNTAX, "line 1, column ");
	parse_fails("<a><![CDATA[x", ERR_SYNTAX, "line 1, column ");
}

static void test_xml_syntax_position(void **state)
{
	(void)state;
	parse_fails("<a>\n  <b></c>\n</a>", ERR_SYNTAX,
		    "line 2, column 8: mismatched tag");
	parse_fails("<a/><b/>", ERR_SYNTAX,
		    "line 1, column 5: junk after document element");
}

static void test_xml_empty_input(void **state)
{
	(void)state;
	parse_fail("", 0, ERR_SYNTAX, "no element found");
	parse_fail(NULL, 0, ERR_SYNTAX, "no element found");
	parse_fails("   \n", ERR_SYNTAX, "no element found");
	parse_fails("<?xml version=\"1.0\"?>", ERR_SYNTAX, "no element found");
}

static void test_xml_non_utf8_junk(void **state)
{
	static const char junk[] = "\x80\x81\xfe\x00\x01garbage\xff";

	(void)state;
	parse_fail(junk, sizeof(junk) - 1, ERR_SYNTAX, "line 1, column ");
	parse_fails("<a>\xc3\x28</a>", ERR_SYNTAX, "not well-formed");
	parse_fails("<a>\xed\xa0\x80</a>", ERR_SYNTAX, "not well-formed");
	parse_fail("<a>x\0y</a>", 10, ERR_SYNTAX, "not well-formed");
	parse_fails("HTTP/1.1 503 Service Unavailable", ERR_SYNTAX,
		    "not well-formed");
}

/* A 1 MB listing: 10,000 <Contents>, each with a <Key>, 20,001 elements. */
static void test_xml_large_document(void **state)
{
	static const char name[] =
		"artifact-with-a-long-name-to-pad-the-listing-to-1MB.tar.gz";
	struct buf b = BUF_INIT;
	struct err e = ERR_INIT;
	struct xml *x = NULL;
	const struct xml *c;
	char want[128];
	size_t n = 0;
	int i;

	(void)state;
	buf_adds(&b, "<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/"
		 "2006-03-01/\">");
	for (i = 0; i < 10000; i++)
		buf_printf(&b, "<Contents><Key>builds/%05d/%s</Key>"
			   "</Contents>\n", i, name);
	buf_adds(&b, "</ListBucketResult>");
	assert_true(b.len > 1000000);
	assert_int_equal(xml_parse(&x, b.ptr, b.len, &e), 0);
	for (c = xml_first(x, "Contents"); c; c = xml_next(c)) {
		snprintf(want, sizeof(want), "builds/%05zu/%s", n, name);
		assert_string_equal(xml_text(c, "Key"), want);
		assert_ptr_equal(c->parent, x);
		n++;
	}
	assert_int_equal(n, 10000);
	xml_free(x);
	buf_release(&b);
}

static void test_xml_free_null(void **state)
{
	(void)state;
	xml_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_xml_sts_error),
		cmocka_unit_test(test_xml_assume_role),
		cmocka_unit_test(test_xml_list_bucket),
		cmocka_unit_test(test_xml_find_paths),
		cmocka_unit_test(test_xml_first_next),
		cmocka_unit_test(test_xml_namespaces_and_prefixes),
		cmocka_unit_test(test_xml_cdata),
		cmocka_unit_test(test_xml_entities_in_text),
		cmocka_unit_test(test_xml_text_around_children),
		cmocka_unit_test(test_xml_attributes_ignored),
		cmocka_unit_test(test_xml_encoding_declared),
		cmocka_unit_test(test_xml_depth_limit),
		cmocka_unit_test(test_xml_node_limit),
		cmocka_unit_test(test_xml_billion_laughs_refused),
		cmocka_unit_test(test_xml_external_entity_refused),
		cmocka_unit_test(test_xml_truncated),
		cmocka_unit_test(test_xml_syntax_position),
		cmocka_unit_test(test_xml_empty_input),
		cmocka_unit_test(test_xml_non_utf8_junk),
		cmocka_unit_test(test_xml_large_document),
		cmocka_unit_test(test_xml_free_null),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
