# A python client of the IPS door built with suds: the proxy comes from the served WSDL, the user's e-mail address
# travels in the authHeader SOAP header. Prints key=value lines for the test.
import sys

from suds.client import Client
from suds.sax.element import Element

wsdl, email, password, company_name, asset = sys.argv[1:6]
client = Client(wsdl, cache=None)
common = ('ips', 'http://www.scene7.com/IpsApi/xsd')
header = Element('authHeader', ns=common)
header.append(Element('user', ns=common).setText(email))
header.append(Element('password', ns=common).setText(password))
client.set_options(soapheaders=header)

# suds unwraps a reply of one element: getCompanyInfo answers the Company, getCompanyMembership the array
company = client.service.getCompanyInfo(companyName=company_name)
print('company=%s|%s|%s' % (company.companyHandle, company.name, company.rootPath))
for membership in client.service.getCompanyMembership()['items']:
    print('membership=%s|%s' % (membership.company.companyHandle, membership.role))
handles = {'items': [asset]}
deleted = client.service.deleteAssets(companyHandle=company.companyHandle, assetHandleArray=handles)
print('deleteAssets=%s' % deleted.successCount)
found = client.service.searchAssets(companyHandle=company.companyHandle, trashState='InTrash')
for item in found.assetArray['items']:
    print('inTrash=%s|%s|%s' % (item.assetHandle, item.name, item.trashState))
restored = client.service.restoreAssetsFromTrash(companyHandle=company.companyHandle, assetHandleArray=handles)
print('restore=%s|%s' % (restored.successCount, restored.errorCount))
