// Types of the aws-sdk-client-mock-vitest matchers registered with expect.extend(allCustomMatcher).
import 'aws-sdk-client-mock-vitest/extend';
