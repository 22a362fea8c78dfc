-- How people read a place in a registry: `endpoint:namespace/repository` (a Target as Python prints it), `endpoint:namespace/repository:tag` given a tag, `endpoint:namespace` given no repository. The one spelling of the label every table and chart shows.
CREATE OR REPLACE MACRO target_label(endpoint, namespace, repository := NULL, tag := NULL) AS
    endpoint || ':' || namespace || coalesce('/' || repository, '') || coalesce(':' || tag, '');
