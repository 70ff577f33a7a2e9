// Zoho CRM runs the framework's shared connector suite (test/helpers/connector-suite.ts) unchanged,
// against the fake org (test/fakes/zoho.ts) with its notifications sent to custos's webhook route.
import { connectorSuite } from './helpers/connector-suite.ts';
import { zohoHarness } from './helpers/zoho-harness.ts';

connectorSuite(zohoHarness);
