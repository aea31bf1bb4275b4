// The proxy's names for the policy grammar (policy/): the domain patterns,
// filter files, host normalization and public suffixes that cellgen checks
// flags with and the proxy enforces, one grammar in one place.
#pragma once

#include "policy/domain_pattern.hpp"
#include "policy/filter.hpp"
#include "policy/host_normalize.hpp"
#include "policy/public_suffix.hpp"

namespace proxy {

using policy::default_public_suffix_list;
using policy::DomainPattern;
using policy::Filter;
using policy::filter_type_name;
using policy::FilterOptions;
using policy::FilterRule;
using policy::FilterType;
using policy::Host;
using policy::HostKind;
using policy::normalize_host;
using policy::parse_domain_pattern;
using policy::parse_filter_type;
using policy::pattern_warnings;
using policy::PublicSuffixes;

} // namespace proxy
