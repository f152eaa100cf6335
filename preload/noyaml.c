/* The shim links the policy library, whose rule loader references
 * libyaml. The shim never loads YAML (it decides from the snapshot), and
 * must not need libyaml at run time, so these hidden definitions satisfy
 * the link. Each one fails, so the loader would report an error rather
 * than parse anything if it were ever reached. */
#include <string.h>
#include <yaml.h>

int yaml_parser_initialize(yaml_parser_t *parser)
{
	memset(parser, 0, sizeof(*parser));
	return 0;
}

void yaml_parser_delete(yaml_parser_t *parser)
{
	(void)parser;
}

void yaml_parser_set_input_string(yaml_parser_t *parser, const unsigned char *input, size_t size)
{
	(void)parser;
	(void)input;
	(void)size;
}

int yaml_parser_load(yaml_parser_t *parser, yaml_document_t *document)
{
	(void)parser;
	memset(document, 0, sizeof(*document));
	return 0;
}

void yaml_document_delete(yaml_document_t *document)
{
	(void)document;
}

yaml_node_t *yaml_document_get_node(yaml_document_t *document, int index)
{
	(void)document;
	(void)index;
	return NULL;
}

yaml_node_t *yaml_document_get_root_node(yaml_document_t *document)
{
	(void)document;
	return NULL;
}
